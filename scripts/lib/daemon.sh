# daemon.sh - sourced by kafka.sh and rabbitmq.sh: stopping and killing a server
# they started, by pid file. The sourcing script defines log, read_pid (the
# server's pid, or nothing) and pid_alive (that pid is really this server), and
# sets PID_FILE, PORT and STOP_TIMEOUT.

# A killed process lingers as a zombie until reaped, and kill -0 still succeeds.
proc_alive() {
  kill -0 "$1" 2>/dev/null && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}'; }

# SIGTERM (a clean shutdown), SIGKILL after STOP_TIMEOUT seconds.
cmd_stop() {
  local pid t0=$EPOCHREALTIME deadline=$((SECONDS + STOP_TIMEOUT))
  pid=$(read_pid)
  if ! pid_alive "$pid"; then
    rm -f "$PID_FILE"
    log "not running on port $PORT"
    return 0
  fi
  kill -TERM "$pid"
  while proc_alive "$pid"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "no exit after ${STOP_TIMEOUT}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.05
  done
  while proc_alive "$pid"; do sleep 0.05; done
  rm -f "$PID_FILE"
  log "stopped (pid $pid) in $(elapsed "$t0") s"
}

# SIGKILL at once, as a crash would.
cmd_kill() {
  local pid
  pid=$(read_pid)
  if ! pid_alive "$pid"; then
    rm -f "$PID_FILE"
    log "not running on port $PORT"
    return 0
  fi
  kill -KILL "$pid"
  while proc_alive "$pid"; do sleep 0.05; done
  rm -f "$PID_FILE"
  log "killed (pid $pid)"
}
