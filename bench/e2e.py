"""End to end: notifications created over REST by concurrent clients, received over WebSockets.

    .venv/bin/python -m bench.e2e --broker kafka      # memory | kafka | rabbitmq | all

`--receivers` users (default 200) hold one socket each. `--clients` concurrent
HTTP clients (aiohttp, closed loop, in `--http-processes` processes) POST
`/api/notifications` for `--seconds`, each request to the next recipient in
turn, with `data.t` = the client's clock just before sending. Every request is
the real path: JWT check and sender lookup, recipient check, outbox entry and
notification written to the database, the outbox relay publishing to the
broker, the consumer handing it to the hub, the frame written to the socket.
Reported: notifications created per second (201s), how many arrived, and
create-to-receipt latency (from the moment the POST was sent) p50/p95/p99, plus
the POST latency itself. `--workers N` runs N gunicorn workers (Kafka or
RabbitMQ only); `bench.scaling` repeats the run for 1, 2 and 4. `--profile`
records a py-spy flame graph of the (single) worker.
"""

import argparse
import time

from bench import harness, httpload, profiling
from bench.harness import Stack, log, start_herald
from bench.loadgen import SocketFleet


async def _post_loop(offset, stride, until, stats, url, token, recipients):
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, force_close=False)
    ) as session:
        n = offset
        while time.time() < until:
            body = {
                "userId": recipients[n % len(recipients)],
                "message": "end-to-end benchmark",
                "type": "bench",
                "data": {"t": time.time(), "p": "e2e"},
            }
            n += stride
            started = time.monotonic()
            try:
                async with session.post(url, json=body, headers=headers) as response:
                    await response.read()
                    status = response.status
            except Exception as error:
                status = type(error).__name__
            httpload.count(stats, status, started)


def http_load(url, token, recipients, *, clients, processes, seconds):
    """The `httpload.Load` of `clients` senders for `seconds`."""
    return httpload.run(
        _post_loop,
        (url + "/api/notifications", token, recipients),
        clients=clients,
        processes=processes,
        seconds=seconds,
    )


def measure(server, user_ids, tokens, sender_token, args, db_pid=None):
    """One end-to-end run against a started server."""
    workers = server.worker_pids()
    fleet = SocketFleet(
        server.port,
        [f"/ws?token={t}" for t in tokens],
        processes=args.processes,
        seconds=args.seconds + 120,
        concurrency=50,
        timeout=90,
    )
    try:
        connected = fleet.start(wait=120)
        log(f"{connected['ok']} sockets connected; {args.clients} HTTP clients for {args.seconds}s")
        cpu0 = sum(harness.cpu_seconds(w) for w in workers)
        db0 = harness.cpu_seconds(db_pid) if db_pid else None
        profile_pid = workers[0] if len(workers) == 1 else None
        name = f"e2e-{args.broker_kind}"
        with profiling.maybe_record(args.profile and profile_pid, profile_pid, name) as prof:
            started = time.monotonic()
            created, http_errors, http_ms, _ = http_load(
                server.url,
                sender_token,
                user_ids,
                clients=args.clients,
                processes=args.http_processes,
                seconds=args.seconds,
            )
            elapsed = time.monotonic() - started
        cpu = sum(harness.cpu_seconds(w) for w in workers) - cpu0
        db_cpu = harness.cpu_seconds(db_pid) - db0 if db_pid else None
        load = harness.loadavg()
        time.sleep(args.drain)
        phases, lost = fleet.finish()
    finally:
        fleet.close()
    stats = phases.get("e2e", {"n": 0, "lat": []})
    return {
        "sockets": connected["ok"],
        "created": created,
        "created_per_second": round(created / elapsed, 1),
        "received": stats["n"],
        "sockets_lost": lost,
        "latency_ms": harness.percentiles(list(stats["lat"])),
        # From the notification's createdAt (set by Herald just before saving) to receipt:
        # the outbox relay, the broker, the consumer and the socket, without the request.
        "stored_to_receipt_ms": harness.percentiles(list(stats.get("after_create", []))),
        "http_ms": harness.percentiles(list(http_ms)),
        "http_errors": sum(http_errors.values()),
        "http_error_kinds": http_errors,
        "worker_cpu_percent_total": round(100 * cpu / elapsed),
        "worker_cpu_ms_per_notification": round(1000 * cpu / max(created, 1), 2),
        "database_cpu_percent": round(100 * db_cpu / elapsed) if db_cpu is not None else None,
        "loadavg": load,
        "profile": prof.info if prof else None,
    }


def run_one(kind, args, workers=1, stack=None):
    """Start what is needed (unless `stack` is given) and measure one configuration."""
    args.broker_kind = kind
    own = stack is None
    stack = stack or Stack()
    try:
        mongodb_uri = stack.info.get("_mongodb_uri") or stack.mongodb()
        stack.info["_mongodb_uri"] = mongodb_uri
        broker_url = stack.info.get(f"_url_{kind}") or stack.broker(kind)
        stack.info[f"_url_{kind}"] = broker_url
        user_ids = harness.create_users(mongodb_uri, args.receivers + 1)
        sender, receivers = user_ids[0], user_ids[1:]
        tokens = harness.mint_tokens(user_ids)
        env = {"OUTBOX_POLL_INTERVAL": "1.0"}
        with start_herald(
            mongodb_uri=mongodb_uri, broker_url=broker_url, workers=workers, extra_env=env
        ) as server:
            result = measure(
                server, receivers, tokens[1:], tokens[0], args, db_pid=stack.database_pid()
            )
        log(f"{kind} x{workers}: {result}")
        return {
            "broker_kind": kind,
            "workers": workers,
            "sender": sender,
            "parameters": {k: v for k, v in vars(args).items() if not k.startswith("_")},
            "result": result,
        }
    finally:
        if own:
            info = {k: v for k, v in stack.info.items() if not k.startswith("_")}
            stack.close()
            stack.info = info


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--broker", default="all", choices=["memory", "kafka", "rabbitmq", "all"])
    parser.add_argument("--receivers", type=int, default=200)
    parser.add_argument("--clients", type=int, default=32, help="concurrent HTTP clients")
    parser.add_argument("--http-processes", type=int, default=2)
    parser.add_argument("--processes", type=int, default=1, help="WebSocket load generators")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--drain", type=float, default=5.0, help="seconds to wait for stragglers")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="py-spy record the worker")
    parser.add_argument("--timeout", type=float, default=170.0, help="hard limit per broker")
    args = parser.parse_args()
    harness.raise_nofile()
    kinds = ["memory", "kafka", "rabbitmq"] if args.broker == "all" else [args.broker]
    for kind in kinds:
        with harness.deadline(args.timeout + 60):
            stack = Stack()
            with stack:
                doc = run_one(kind, args, workers=args.workers, stack=stack)
                info = {k: v for k, v in stack.info.items() if not k.startswith("_")}
            harness.save_result(f"e2e-{kind}", doc, info)


if __name__ == "__main__":
    main()
