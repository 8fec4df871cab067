"""A fixed load at saturation: what one notification costs, from POST to socket write.

    .venv/bin/python -m bench.saturation --broker all      # memory | kafka | rabbitmq | all

The load of issue 20, as a new user would measure it: `--receivers` users (100)
hold one socket each (in a load-generator process); `--senders` users (20) each
POST their share of `--count` notifications (2,000) to recipients drawn at
random, closed loop, from `--http-processes` processes; rate limits off; one
gevent worker; the embedded FerretDB store on SQLite, or with `--store
postgresql` on a PostgreSQL cluster of the run's own (scripts/postgres.sh), which
tells Herald's cost from SQLite's write serialisation. Reported:

- POST/s, and create -> socket latency p50/p95/p99 (from the moment the POST was
  sent to the frame's arrival);
- lost (a created notification that never reached its recipient's socket),
  duplicated (a socket that got one twice) and misrouted (a socket that got
  another user's);
- the worker's and the store's CPU per notification (FerretDB, plus PostgreSQL's
  processes with `--store postgresql`);
- database commands per notification by kind (`insert notifications`, `find
  users`, ...), counted in the worker by pymongo's command monitoring
  (bench.herald_wsgi), with the background loops' idle rate measured before the
  load beside them, so the hot path can be told from the heartbeat.
"""

import argparse
import random
import time

import requests

from bench import harness, httpload
from bench.harness import Stack, log, start_herald
from bench.loadgen import SocketFleet

PHASE = "saturation"


async def _post_loop(offset, stride, until, stats, url, tokens, recipients, per_client):
    import aiohttp

    headers = {"Authorization": f"Bearer {tokens[offset % len(tokens)]}"}
    draw = random.Random(offset)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for _ in range(per_client):
            if time.time() > until:
                return
            recipient = draw.choice(recipients)
            body = {
                "userId": recipient,
                "message": "saturation benchmark",
                "type": "bench",
                "data": {"t": time.time(), "p": PHASE},
            }
            started = time.monotonic()
            try:
                async with session.post(url, json=body, headers=headers) as response:
                    answer = await response.json(content_type=None)
                    status = response.status
            except Exception as error:
                status, answer = type(error).__name__, None
            httpload.count(stats, status, started)
            if status == 201:
                stats["created"].append((answer["id"], recipient))


def commands(server, reset=False):
    url = f"{server.url}/bench/commands"
    if reset:
        requests.delete(url, timeout=10).raise_for_status()
        return {}
    return requests.get(url, timeout=10).json()


def tally(created, received, user_of_path):
    """(lost, duplicated, misrouted) of `created` [(id, recipient)] given what sockets got."""
    seen, duplicated, misrouted = set(), 0, 0
    for path, notification_id, recipient in received:
        if user_of_path[path] != recipient:
            misrouted += 1
        elif (path, notification_id) in seen:
            duplicated += 1
        else:
            seen.add((path, notification_id))
    paths = {user: path for path, user in user_of_path.items()}
    lost = sum(1 for nid, recipient in created if (paths[recipient], nid) not in seen)
    return lost, duplicated, misrouted


def per_notification(counts, created):
    return {kind: round(n / max(created, 1), 2) for kind, n in sorted(counts.items())}


def measure(server, receivers, receiver_tokens, sender_tokens, args, store_cpu):
    worker = server.worker_pids()[0]
    paths = [f"/ws?token={t}" for t in receiver_tokens]
    user_of_path = dict(zip(paths, receivers, strict=True))
    fleet = SocketFleet(
        server.port,
        paths,
        processes=1,
        seconds=args.timeout,
        concurrency=50,
        timeout=60,
        record=PHASE,
    )
    try:
        connected = fleet.start(wait=120)
        log(f"{connected['ok']} sockets; idle window {args.idle}s")
        commands(server, reset=True)
        time.sleep(args.idle)
        idle = commands(server)
        commands(server, reset=True)
        cpu0, db0 = harness.cpu_seconds(worker), store_cpu()
        started = time.monotonic()
        load = httpload.run(
            _post_loop,
            (
                server.url + "/api/notifications",
                sender_tokens,
                receivers,
                args.count // args.senders,
            ),
            clients=args.senders,
            processes=args.http_processes,
            seconds=args.timeout - 60,
        )
        elapsed = time.monotonic() - started
        cpu = harness.cpu_seconds(worker) - cpu0
        db_cpu = store_cpu() - db0 if db0 is not None else None
        time.sleep(args.drain)
        counted = commands(server)
        phases, sockets_lost = fleet.finish()
    finally:
        fleet.close()
    stats = phases.get(PHASE, {"lat": []})
    lost, duplicated, misrouted = tally(load.created, fleet.received, user_of_path)
    created = len(load.created)
    window = elapsed + args.drain
    background = {k: round(n * window / args.idle) for k, n in idle.items()}
    return {
        "sockets": connected["ok"],
        "created": created,
        "posts_per_second": round(created / elapsed, 1),
        "create_to_socket_ms": harness.percentiles(list(stats["lat"])),
        "http_ms": harness.percentiles(list(load.ms)),
        "http_errors": load.errors,
        "lost": lost,
        "duplicated": duplicated,
        "misrouted": misrouted,
        "sockets_lost": sockets_lost,
        "worker_cpu_ms_per_notification": round(1000 * cpu / max(created, 1), 2),
        "database_cpu_ms_per_notification": (
            round(1000 * db_cpu / max(created, 1), 2) if db_cpu is not None else None
        ),
        "database_commands_per_notification": round(sum(counted.values()) / max(created, 1), 2),
        "database_commands_by_kind": per_notification(counted, created),
        # What the background loops alone would have sent in the same window, from the
        # idle rate: the difference is the notifications' own.
        "background_commands_per_notification": round(
            sum(background.values()) / max(created, 1), 2
        ),
        "background_commands_by_kind": per_notification(background, created),
        "seconds": round(elapsed, 2),
        "loadavg": harness.loadavg(),
    }


def run_one(kind, args, stack):
    mongodb_uri = stack.mongodb()
    broker_url = stack.broker(kind)
    user_ids = harness.create_users(mongodb_uri, args.receivers + args.senders, prefix="sat")
    receivers = user_ids[: args.receivers]  # the rest send
    tokens = harness.mint_tokens(user_ids)
    with start_herald(
        mongodb_uri=mongodb_uri, broker_url=broker_url, app="bench.herald_wsgi:app"
    ) as server:
        result = measure(
            server,
            receivers,
            tokens[: args.receivers],
            tokens[args.receivers :],
            args,
            stack.database_cpu_seconds,
        )
    log(f"{kind}: {result}")
    return {
        "broker_kind": kind,
        "store": args.store,
        "parameters": {k: v for k, v in vars(args).items() if not k.startswith("_")},
        "result": result,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--broker", default="all", choices=["memory", "kafka", "rabbitmq", "all"])
    parser.add_argument("--store", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--receivers", type=int, default=100)
    parser.add_argument("--senders", type=int, default=20, help="concurrent HTTP clients")
    parser.add_argument("--count", type=int, default=2000, help="notifications in all")
    parser.add_argument("--http-processes", type=int, default=2)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle commands")
    parser.add_argument("--drain", type=float, default=3.0, help="seconds to wait for stragglers")
    parser.add_argument("--timeout", type=float, default=300.0, help="hard limit per broker")
    args = parser.parse_args()
    harness.raise_nofile()
    kinds = ["memory", "kafka", "rabbitmq"] if args.broker == "all" else [args.broker]
    for kind in kinds:
        with harness.deadline(args.timeout + 120):
            stack = Stack(store=args.store)
            with stack:
                doc = run_one(kind, args, stack)
                info = {k: v for k, v in stack.info.items() if not k.startswith("_")}
            suffix = "" if args.store == "sqlite" else f"-{args.store}"
            harness.save_result(f"saturation-{kind}{suffix}", doc, info)


if __name__ == "__main__":
    main()
