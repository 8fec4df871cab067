"""One notification to a topic of many subscribers: how long the fan-out takes, what it costs.

    .venv/bin/python -m bench.audience --broker kafka --sizes 1000,10000,100000

For each size, that many users subscribe to a topic (inserted in bulk), the
first `--connected` of them (default 1,000) hold a socket, and the topic's
owner sends one notification to it (`POST /api/notifications {"topic"}`, which
answers 202 with its fan-out job). Reported: the time from the POST to the
last inbox write (the job done), to the job's last notification handed to the
broker (its last outbox entry gone), and to the last live frame on a connected
socket; the job's `written` and `delivered` as the API reports them at the end;
and the worker's memory before and at its peak while the fan-out ran (sampled
every 50 ms). The run is watched in the store by primary key, not through
`GET /api/fanouts/<id>`, whose counts scan the job's claims. `--store
postgresql` runs FerretDB on PostgreSQL instead of SQLite (bench.saturation).
"""

import argparse
import datetime as dt
import threading
import time

import pymongo
import requests

from bench import harness
from bench.harness import Stack, log, start_herald
from bench.loadgen import SocketFleet


def subscribe(mongodb_uri, topic, owner, members):
    now = dt.datetime.now(dt.UTC)
    with pymongo.MongoClient(mongodb_uri, uuidRepresentation="standard") as client:
        database = client.get_default_database()
        database.topics.insert_one(
            {"_id": topic, "name": topic, "owner_id": owner, "created_at": now}
        )
        rows = [
            {"_id": f"{topic}/{m}", "topic": topic, "user_id": m, "created_at": now}
            for m in members
        ]
        for start in range(0, len(rows), 5000):
            database.subscriptions.insert_many(rows[start : start + 5000], ordered=False)


def watch(mongodb_uri, job_id, started, timeout):
    """(seconds to the job's last inbox write, to its last outbox entry handed to the broker).

    Read from the store by primary key and from the outbox (which drains as the relay
    publishes), both cheap: the job's `finished_at` is set once its last batch is written.
    """
    with pymongo.MongoClient(mongodb_uri, uuidRepresentation="standard") as client:
        database = client.get_default_database()
        deadline, written_at = started + timeout, None
        while time.monotonic() < deadline:
            state = database.fanout_jobs.find_one({"_id": job_id}, {"state": 1})
            if written_at is None and state and state["state"] == "done":
                written_at = time.monotonic() - started
            if written_at is not None and not database.outbox.find_one({"fanout_id": job_id}):
                return written_at, time.monotonic() - started
            time.sleep(0.05 if written_at is None else 0.02)
    return written_at, None


class PeakMemory(threading.Thread):
    """The highest RSS of `pid` while it runs."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.stopped = pid, harness.rss_kb(pid), threading.Event()

    def run(self):
        while not self.stopped.wait(0.05):
            self.peak_kb = max(self.peak_kb, harness.rss_kb(self.pid))


def one_size(server, mongodb_uri, size, args):
    user_ids = harness.create_users(mongodb_uri, size + 1, prefix=f"a{size}")
    owner, members = user_ids[0], user_ids[1:]
    topic = f"bench-{size}-{int(time.time())}"
    subscribe(mongodb_uri, topic, owner, members)
    tokens = harness.mint_tokens([owner, *members[: args.connected]])
    worker = server.worker_pids()[0]
    fleet = SocketFleet(
        server.port,
        [f"/ws?token={t}" for t in tokens[1:]],
        processes=1,
        seconds=args.timeout + 60,
        concurrency=50,
        timeout=90,
    )
    try:
        connected = fleet.start(wait=120)
        rss_before = harness.rss_kb(worker)
        memory = PeakMemory(worker)
        memory.start()
        headers = {"Authorization": f"Bearer {tokens[0]}"}
        body = {
            "topic": topic,
            "message": "audience benchmark",
            "data": {"t": time.time(), "p": "topic"},
        }
        started = time.monotonic()
        job = requests.post(
            f"{server.url}/api/notifications", json=body, headers=headers, timeout=60
        )
        assert job.status_code == 202, job.text
        written_at, delivered_at = watch(mongodb_uri, job.json()["id"], started, args.timeout)
        # The API's own counts, once: polling them would scan the job's claims each time
        # (FerretDB/SQLite filters in Go), a load of the observer's making.
        final = requests.get(
            f"{server.url}/api/fanouts/{job.json()['id']}", headers=headers, timeout=120
        ).json()
        time.sleep(args.drain)
        memory.stopped.set()
        phases, lost = fleet.finish()
    finally:
        fleet.close()
    live = phases.get("topic", {"n": 0, "lat": [], "last": 0.0})
    return {
        "subscribers": size,
        "connected": connected["ok"],
        "seconds_to_last_inbox_write": round(written_at, 2) if written_at else None,
        "seconds_to_last_handed_to_broker": round(delivered_at, 2) if delivered_at else None,
        "live_received": live["n"],
        "seconds_to_last_live_frame": round(max(live["lat"]) / 1000, 2) if live["n"] else None,
        "sockets_lost": lost,
        "api_written": final["written"],
        "api_delivered": final["delivered"],
        "worker_rss_before_mib": round(rss_before / 1024, 1),
        "worker_rss_peak_mib": round(memory.peak_kb / 1024, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--broker", default="all", choices=["memory", "kafka", "rabbitmq", "all"])
    parser.add_argument("--store", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--connected", type=int, default=1000)
    parser.add_argument("--drain", type=float, default=3.0)
    parser.add_argument("--timeout", type=float, default=900.0, help="per size")
    args = parser.parse_args()
    harness.raise_nofile()
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = ["memory", "kafka", "rabbitmq"] if args.broker == "all" else [args.broker]
    for kind in kinds:
        with harness.deadline(len(sizes) * (args.timeout + 300)):
            stack = Stack(store=args.store)
            with stack:
                broker_url, rows = stack.broker(kind), []
                for size in sizes:
                    # A database of its own per size: FerretDB/SQLite filters all but `_id`
                    # in Go, so the last size's 10,000s of notifications would slow every
                    # handshake of this one (its unread count) by a scan.
                    mongodb_uri = stack.mongodb()
                    with start_herald(mongodb_uri=mongodb_uri, broker_url=broker_url) as server:
                        rows.append(one_size(server, mongodb_uri, size, args))
                    log(f"{kind} {size}: {rows[-1]}")
                info = {k: v for k, v in stack.info.items() if not k.startswith("_")}
            doc = {"broker_kind": kind, "parameters": vars(args), "results": rows}
            suffix = "" if args.store == "sqlite" else f"-{args.store}"
            harness.save_result(f"audience-{kind}{suffix}", doc, info)


if __name__ == "__main__":
    main()
