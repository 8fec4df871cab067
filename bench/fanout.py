"""Fan-out: notifications per second from the broker to 1,000 sockets on ONE worker, and latency.

    .venv/bin/python -m bench.fanout --broker kafka      # memory | kafka | rabbitmq | all

`--clients` sockets (default 1,000), one per user, on one gunicorn gevent
worker; with `--sockets-per-user K` the same number of sockets belongs to
clients/K users, so each broker message is K deliveries (a user with several
tabs or devices) and the broker carries 1/K of the rate (`--rates` are always
deliveries per second; results then go to `fanout-<broker>-<K>-per-user`).
Notification events, encoded by the app's own encoder with the send time in
`data.t`, are published straight to the broker in steps of fixed rate
(`--rates`, each for `--step-seconds`, open loop), so the REST API and the
database are out of the path: this is broker -> consumer -> hub ->
sockets. Each step is a phase; the load generators count what each phase
delivered and the latency from publish to receipt (same clock). A step is
"kept up" when everything arrived at the offered rate with p99 under 50 ms.

Publishers: Kafka and RabbitMQ from separate processes (`bench.publishers`);
memory:// only exists inside the worker, so for it a benchmark-only route
(`bench/herald_wsgi.py`) publishes from a greenlet in the worker itself. The
same module reports the worker's garbage-collector pauses during the steps
(`garbage_collector` in the result). `--profile` records a py-spy flame graph
of the worker during the steps.
"""

import argparse
import multiprocessing as mp
import time

import requests

from bench import harness, profiling
from bench.harness import Stack, log, start_herald
from bench.loadgen import SocketFleet
from bench.publishers import publish


def wait_idle(pid, *, busy_below=0.15, window=0.5, limit=10.0):
    """Wait until the worker's CPU use over `window` seconds drops below `busy_below`."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        before = harness.cpu_seconds(pid)
        time.sleep(window)
        if (harness.cpu_seconds(pid) - before) / window < busy_below:
            return


def publish_step(kind, server, broker_url, user_ids, rate, seconds, phase, publishers):
    if kind == "memory":
        requests.post(
            server.url + "/bench/publish",
            json={"userIds": user_ids, "rate": rate, "seconds": seconds, "phase": phase},
            timeout=10,
        ).raise_for_status()
        time.sleep(seconds)
        return {"published": int(rate * seconds), "publishers": "in-worker greenlet"}
    ctx = mp.get_context("spawn")
    report = ctx.Queue()
    share = [user_ids[i::publishers] for i in range(publishers)]
    procs = [
        ctx.Process(
            target=publish,
            args=(kind, broker_url, harness.TOPIC, part, rate / publishers, seconds, phase, report),
            daemon=True,
        )
        for part in share
    ]
    for proc in procs:
        proc.start()
    results = [report.get(timeout=seconds + 90) for _ in procs]
    for proc in procs:
        proc.join(10)
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise RuntimeError(f"publisher failed: {errors}")
    return {"published": sum(r["published"] for r in results)}


def run_broker(kind, args):
    with Stack() as stack:
        mongodb_uri = stack.mongodb()
        broker_url = stack.broker(kind)
        per_user = args.sockets_per_user
        user_ids = harness.create_users(mongodb_uri, args.clients // per_user)
        tokens = [token for token in harness.mint_tokens(user_ids) for _ in range(per_user)]
        app = "bench.herald_wsgi:app"
        with start_herald(mongodb_uri=mongodb_uri, broker_url=broker_url, app=app) as server:
            (worker,) = server.worker_pids()
            fleet = SocketFleet(
                server.port,
                [f"/ws?token={t}" for t in tokens],
                processes=args.processes,
                seconds=args.timeout,
                concurrency=50,
                timeout=90,
            )
            try:
                connected = fleet.start(wait=120)
                log(f"{kind}: {connected['ok']} sockets connected")
                publishers = 1 if kind == "kafka" else args.rabbitmq_publishers
                publish_step(
                    kind, server, broker_url, user_ids, 500 / per_user, 2, "warmup", publishers
                )
                wait_idle(worker)
                requests.delete(server.url + "/bench/gc", timeout=10).raise_for_status()
                steps = []
                with profiling.maybe_record(args.profile, worker, f"fanout-{kind}") as prof:
                    for rate in args.rates:
                        cpu0, t0 = harness.cpu_seconds(worker), time.monotonic()
                        p0 = time.monotonic()
                        done = publish_step(
                            kind,
                            server,
                            broker_url,
                            user_ids,
                            rate / per_user,
                            args.step_seconds,
                            str(rate),
                            publishers,
                        )
                        done["publish_seconds"] = time.monotonic() - p0
                        wait_idle(worker)
                        cpu = (harness.cpu_seconds(worker) - cpu0) / (time.monotonic() - t0)
                        cpu_s = harness.cpu_seconds(worker) - cpu0
                        steps.append(
                            {
                                "rate": rate,
                                "cpu": cpu,
                                "cpu_s": cpu_s,
                                "load": harness.loadavg(),
                                **done,
                            }
                        )
                        log(f"{kind}: step {rate}/s published {done['published']}")
                collector = requests.get(server.url + "/bench/gc", timeout=10).json()
                phases, lost = fleet.finish()
            finally:
                fleet.close()
        result = summarize(kind, args, connected, steps, phases, lost)
        result["garbage_collector"] = collector
        result["profile"] = prof.info if prof else None
        harness.save_result(result_name(kind, per_user), result, stack.info)


def result_name(kind, sockets_per_user):
    suffix = f"-{sockets_per_user}-per-user" if sockets_per_user > 1 else ""
    return f"fanout-{kind}{suffix}"


def summarize(kind, args, connected, steps, phases, lost):
    rows = []
    for step in steps:
        stats = phases.get(str(step["rate"]), {"n": 0, "lat": [], "first": 0, "last": 0})
        expected = step["published"] * args.sockets_per_user
        span = max(stats["last"] - stats["first"], args.step_seconds * 0.999)
        lat = harness.percentiles(list(stats["lat"]))
        rows.append(
            {
                "offered_per_second": step["rate"],
                "expected": expected,
                "published_per_second": round(
                    step["published"] / max(step.get("publish_seconds", 0), args.step_seconds)
                ),
                "delivered": stats["n"],
                "delivered_per_second": round(stats["n"] / span),
                "receive_span_seconds": round(span, 2),
                "latency_ms": lat,
                "worker_cpu_percent": round(step["cpu"] * 100),
                "worker_cpu_us_per_delivery": round(1e6 * step["cpu_s"] / max(stats["n"], 1), 1),
                "loadavg": step["load"],
                "kept_up": stats["n"] >= expected and (lat["p99"] or 1e9) < 50,
            }
        )
    best = [r for r in rows if r["kept_up"]]
    peak = max(rows, key=lambda r: r["delivered_per_second"]) if rows else None
    summary = (
        f"highest rate kept up (all delivered, p99 < 50 ms): "
        f"{best[-1]['offered_per_second'] if best else 'none'}/s; "
        f"peak delivered {peak['delivered_per_second'] if peak else 0}/s"
    )
    return {
        "parameters": vars(args),
        "broker_kind": kind,
        "publisher": {
            "memory": "in-worker greenlet",
            "kafka": "1 process",
            "rabbitmq": f"{args.rabbitmq_publishers} processes, buffered, no confirms",
        }[kind],
        "sockets": connected["ok"],
        "sockets_per_user": args.sockets_per_user,
        "connect_errors": connected["errors"],
        "sockets_lost": lost,
        "steps": rows,
        "summary": summary,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--broker", default="all", choices=["memory", "kafka", "rabbitmq", "all"])
    parser.add_argument("--clients", type=int, default=1000, help="sockets")
    parser.add_argument(
        "--sockets-per-user", type=int, default=1, help="deliveries per broker message"
    )
    parser.add_argument(
        "--rates",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[2000, 5000, 10000, 15000, 20000],
    )
    parser.add_argument("--step-seconds", type=float, default=4.0)
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--rabbitmq-publishers", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="py-spy record the worker")
    parser.add_argument("--timeout", type=float, default=170.0, help="hard limit per broker")
    args = parser.parse_args()
    harness.raise_nofile()
    kinds = ["memory", "kafka", "rabbitmq"] if args.broker == "all" else [args.broker]
    for kind in kinds:
        with harness.deadline(args.timeout + 60):
            run_broker(kind, args)


if __name__ == "__main__":
    main()
