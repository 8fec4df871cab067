"""Direct messages between pairs of connected users: messages per second, send to receipt.

    .venv/bin/python -m bench.conversations --broker kafka   # memory | kafka | rabbitmq | all

`--pairs` pairs of users (default 500) each hold one socket per user. `--clients`
concurrent HTTP clients (aiohttp, closed loop, in `--http-processes` processes)
send for `--seconds`: each request is the next pair's first user messaging the
second (`POST /api/conversations/<id>/messages`), with the send time in the text.
Every message takes the real path: JWT check, recipient and block checks, the
outbox entry and the message written, the conversation summary moved up, the
relay publishing one copy per participant, each consumer handing it to the hub.
Reported: messages accepted per second, how many reached their recipient's
socket, send-to-receipt p50/p95/p99 (from just before the POST to the frame on
the recipient's socket), the POST latency, and the worker's CPU per message.
"""

import argparse
import time

from bench import harness, httpload
from bench.harness import Stack, log, start_herald
from bench.loadgen import SocketFleet

PHASE = "dm"


async def _send_loop(offset, stride, until, stats, base_url, pairs):
    import aiohttp

    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, force_close=False)
    ) as session:
        n = offset
        while time.time() < until:
            sender_token, recipient_id = pairs[n % len(pairs)]
            n += stride
            url = f"{base_url}/api/conversations/{recipient_id}/messages"
            started = time.monotonic()
            try:
                async with session.post(
                    url,
                    json={"text": f"{PHASE}@{time.time()}"},
                    headers={"Authorization": f"Bearer {sender_token}"},
                ) as response:
                    await response.read()
                    status = response.status
            except Exception as error:
                status = type(error).__name__
            httpload.count(stats, status, started)


def run_one(kind, args, stack):
    args.broker_kind = kind
    mongodb_uri = stack.mongodb()
    broker_url = stack.broker(kind)
    user_ids = harness.create_users(mongodb_uri, 2 * args.pairs, prefix="dm")
    tokens = harness.mint_tokens(user_ids)
    # Pair i: user 2i writes to user 2i + 1.
    pairs = [(tokens[2 * i], user_ids[2 * i + 1]) for i in range(args.pairs)]
    with start_herald(
        mongodb_uri=mongodb_uri, broker_url=broker_url, extra_env={"OUTBOX_POLL_INTERVAL": "1.0"}
    ) as server:
        workers = server.worker_pids()
        fleet = SocketFleet(
            server.port,
            [f"/ws?token={t}" for t in tokens],
            processes=args.processes,
            seconds=args.seconds + 180,
            concurrency=50,
            timeout=90,
        )
        try:
            connected = fleet.start(wait=150)
            log(f"{connected['ok']} sockets; {args.clients} senders for {args.seconds}s")
            cpu0 = sum(harness.cpu_seconds(w) for w in workers)
            db_pid = stack.database_pid()
            db0 = harness.cpu_seconds(db_pid) if db_pid else None
            started = time.monotonic()
            sent, errors, http_ms, _ = httpload.run(
                _send_loop,
                (server.url, pairs),
                clients=args.clients,
                processes=args.http_processes,
                seconds=args.seconds,
            )
            elapsed = time.monotonic() - started
            cpu = sum(harness.cpu_seconds(w) for w in workers) - cpu0
            db_cpu = harness.cpu_seconds(db_pid) - db0 if db_pid else None
            time.sleep(args.drain)
            phases, lost = fleet.finish()
        finally:
            fleet.close()
    stats = phases.get(PHASE, {"n": 0, "lat": []})
    result = {
        "sockets": connected["ok"],
        "sent": sent,
        "messages_per_second": round(sent / elapsed, 1),
        "received_by_recipient": stats["n"],
        "sockets_lost": lost,
        "send_to_receipt_ms": harness.percentiles(list(stats["lat"])),
        "http_ms": harness.percentiles(list(http_ms)),
        "http_errors": sum(errors.values()),
        "http_error_kinds": errors,
        "worker_cpu_ms_per_message": round(1000 * cpu / max(sent, 1), 2),
        "database_cpu_ms_per_message": (
            round(1000 * db_cpu / max(sent, 1), 2) if db_cpu is not None else None
        ),
        "loadavg": harness.loadavg(),
    }
    log(f"{kind}: {result}")
    return {
        "broker_kind": kind,
        "parameters": {k: v for k, v in vars(args).items() if not k.startswith("_")},
        "result": result,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--broker", default="all", choices=["memory", "kafka", "rabbitmq", "all"])
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--clients", type=int, default=20, help="concurrent HTTP senders")
    parser.add_argument("--http-processes", type=int, default=2)
    parser.add_argument("--processes", type=int, default=1, help="WebSocket load generators")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--drain", type=float, default=5.0, help="seconds to wait for stragglers")
    parser.add_argument("--timeout", type=float, default=240.0, help="hard limit per broker")
    args = parser.parse_args()
    harness.raise_nofile()
    kinds = ["memory", "kafka", "rabbitmq"] if args.broker == "all" else [args.broker]
    for kind in kinds:
        with harness.deadline(args.timeout + 60):
            stack = Stack()
            with stack:
                doc = run_one(kind, args, stack)
                info = {k: v for k, v in stack.info.items() if not k.startswith("_")}
            harness.save_result(f"conversations-{kind}", doc, info)


if __name__ == "__main__":
    main()
