#!/usr/bin/env bash
# run.sh - start Herald for a person trying it: the embedded FerretDB store on disk
# (unless MONGODB_URI is given) and gunicorn's gevent worker on HOST:PORT
# (default 127.0.0.1:8000). Stops the store it started when Herald exits.
# STORE_PORT and STORE_DIR move the embedded store (default 27027, .run/ferretdb/data).
# Web Push gets a VAPID key of its own on the first run, kept in VAPID_KEY_FILE
# (default .run/vapid-private-key), unless VAPID_PRIVATE_KEY is given (or set in .env).
# Emails go to a Mailpit of its own (built once from the Go proxy; its inbox in a browser
# at http://127.0.0.1:MAILPIT_UI_PORT, default 8025; SMTP on MAILPIT_SMTP_PORT, 1025),
# unless SMTP_URL is given (or set in .env).
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

export HOST=${HOST:-127.0.0.1} PORT=${PORT:-8000}
started_store=
store=(--port "${STORE_PORT:-27027}")
if [ -z "${MONGODB_URI:-}" ]; then
  bash scripts/ferretdb.sh install
  if ! bash scripts/ferretdb.sh status "${store[@]}" >/dev/null 2>&1; then
    bash scripts/ferretdb.sh start "${store[@]}" ${STORE_DIR:+--data "$STORE_DIR"}
    started_store=yes
  fi
  MONGODB_URI="$(bash scripts/ferretdb.sh uri "${store[@]}")herald"
  export MONGODB_URI
fi
if [ -z "${VAPID_PRIVATE_KEY:-}" ] && ! grep -qs '^VAPID_PRIVATE_KEY=.' .env; then
  key_file=${VAPID_KEY_FILE:-.run/vapid-private-key}
  if [ ! -s "$key_file" ]; then
    mkdir -p "$(dirname -- "$key_file")"
    (umask 077 && python -m app.channels.push.vapid >"$key_file.tmp" && mv "$key_file.tmp" "$key_file")
    echo "Web Push: a new VAPID key in $key_file"
  fi
  VAPID_PRIVATE_KEY=$(cat "$key_file")
  export VAPID_PRIVATE_KEY
fi
mailpit_pid=
if [ -z "${SMTP_URL:-}" ] && ! grep -qs '^SMTP_URL=.' .env; then
  smtp_port=${MAILPIT_SMTP_PORT:-1025} ui_port=${MAILPIT_UI_PORT:-8025}
  if bash scripts/mailpit.sh install; then
    mkdir -p .run
    bash scripts/mailpit.sh --smtp "127.0.0.1:$smtp_port" --listen "127.0.0.1:$ui_port" \
      >>.run/mailpit.log 2>&1 &
    mailpit_pid=$!
    export SMTP_URL="smtp://127.0.0.1:$smtp_port"
    echo "Emails: Mailpit catches them, see http://127.0.0.1:$ui_port"
  else
    echo "Mailpit not built (Go needed once); emails will wait until SMTP_URL is reachable" >&2
  fi
fi
stop_started() {
  [ -n "$mailpit_pid" ] && kill "$mailpit_pid" 2>/dev/null
  [ -n "$started_store" ] && bash scripts/ferretdb.sh stop "${store[@]}" || true
}
trap stop_started EXIT

# GraphiQL's files for /graphql in a browser; without npm, only the IDE page is missing.
bash scripts/graphiql.sh install || echo "GraphiQL not installed (npm needed once); /graphql still answers API calls" >&2

echo "Herald on http://$HOST:$PORT  (API docs: http://$HOST:$PORT/api-docs/, GraphiQL: http://$HOST:$PORT/graphql)"
gunicorn -c gunicorn.conf.py wsgi:app
