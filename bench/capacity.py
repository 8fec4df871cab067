"""Capacity: idle authenticated WebSockets held by ONE gevent worker, and the memory each costs.

    .venv/bin/python -m bench.capacity --sockets 10000

Runs twice in one go, on the same machine and load: first a bare flask-sock app
(`bench/bare_app.py`: same gunicorn gevent worker, no auth, no database), then
Herald (`wsgi:app`, memory broker, FerretDB). For each, a few warm-up sockets
are opened and closed, the worker's VmRSS is read ("before"), `--sockets`
sockets are opened by `--processes` load-generator processes (at most
`--concurrency` handshakes in flight each) and counted once each got its
`ready` frame, held for `--hold` seconds, and VmRSS is read again ("after").
Per-socket cost = (after - before) / sockets held.

Herald's handshakes are real: a JWT in the query string, the user looked up in
the database, and for the first socket of each user a presence upsert and a
presence announcement. `--sockets-per-user` (default 10) sets how many sockets
share a user; users are bulk-inserted and tokens minted directly (see harness).
"""

import argparse
import time

from bench import harness
from bench.harness import Stack, log, start_herald
from bench.loadgen import SocketFleet


def hold(server, paths, args):
    """Open `paths` against `server`'s one worker; returns the measurement."""
    (worker,) = server.worker_pids()
    warm = SocketFleet(server.port, paths[:20], processes=1, seconds=60)
    warm.start()
    warm.close()
    time.sleep(1.0)
    before, cpu_before = harness.rss_kb(worker), harness.cpu_seconds(worker)
    fleet = SocketFleet(
        server.port,
        paths,
        processes=args.processes,
        concurrency=args.concurrency,
        seconds=args.timeout,
        budget=args.connect_budget,
    )
    try:
        summary = fleet.start(wait=args.connect_budget + 60)
        cpu_connect = harness.cpu_seconds(worker) - cpu_before
        time.sleep(args.hold)
        after = harness.rss_kb(worker)
        _, lost = fleet.finish(wait=30)
    finally:
        fleet.close()
    held = summary["ok"] - lost
    return {
        "sockets_requested": len(paths),
        "sockets_held": held,
        "connect_errors": summary["errors"],
        "lost_while_holding": lost,
        "connect_seconds": summary["seconds"],
        "connects_per_second": round(summary["ok"] / max(summary["seconds"], 1e-9), 1),
        "connect_latency_ms": harness.percentiles(list(summary["connect_ms"])),
        "worker_cpu_seconds_connecting": round(cpu_connect, 2),
        "worker_rss_before_kib": before,
        "worker_rss_after_kib": after,
        "rss_per_socket_kib": round((after - before) / max(held, 1), 2),
        "loadavg": harness.loadavg(),
    }


def run(args):
    result = {"parameters": vars(args), "loadavg_start": harness.loadavg()}
    with Stack() as stack:
        mongodb_uri = stack.mongodb()
        broker_url = stack.broker("memory")
        if not args.no_baseline:
            log(f"bare flask-sock: {args.sockets} sockets")
            with start_herald(
                mongodb_uri=mongodb_uri, broker_url=broker_url, app="bench.bare_app:app"
            ) as bare:
                result["bare_flask_sock"] = hold(bare, ["/ws"] * args.sockets, args)
            log("bare:", result["bare_flask_sock"])
        users = -(-args.sockets // args.sockets_per_user)
        user_ids = harness.create_users(mongodb_uri, users)
        tokens = harness.mint_tokens(user_ids)
        paths = [f"/ws?token={tokens[n % users]}" for n in range(args.sockets)]
        log(f"Herald: {args.sockets} sockets, {users} users")
        with start_herald(mongodb_uri=mongodb_uri, broker_url=broker_url) as herald:
            result["herald"] = hold(herald, paths, args)
            result["herald"]["users"] = users
            result["herald"]["sockets_per_user"] = args.sockets_per_user
        log("herald:", result["herald"])
        harness.save_result("capacity", result, stack.info)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=10000)
    parser.add_argument("--sockets-per-user", type=int, default=10)
    parser.add_argument("--processes", type=int, default=4, help="load-generator processes")
    parser.add_argument("--concurrency", type=int, default=100, help="handshakes in flight each")
    parser.add_argument(
        "--connect-budget",
        type=float,
        default=100.0,
        help="seconds allowed for opening sockets; the rest are not attempted",
    )
    parser.add_argument("--hold", type=float, default=5.0, help="seconds to hold before 'after'")
    parser.add_argument("--timeout", type=float, default=170.0, help="hard limit of the run")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare flask-sock run")
    args = parser.parse_args()
    harness.raise_nofile()
    with harness.deadline(args.timeout + 120):
        run(args)


if __name__ == "__main__":
    main()
