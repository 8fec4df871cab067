"""A broker adapter alone on a busy gevent hub: publish batches and delivery latency.

Herald's relay and consumer share the worker's hub with request handlers. This
run isolates that: in one gevent process (a child, so that monkey-patching comes
first), `--busy` greenlets each burn 2 ms of CPU between yields (requests being
served), one greenlet consumes through the adapter and acks, and the main
greenlet publishes `--messages` messages `--batch` at a time every 100 ms with
`publish_many`, as the outbox relay does. It reports `publish_many` time and
publish -> receipt latency for each broker and busy count; no database, no HTTP.

    .venv/bin/python -m bench.busy_hub --broker rabbitmq --busy 0 8
"""

import argparse
import json
import subprocess
import sys

from bench.harness import ROOT, Stack, deadline, log, percentiles, save_result

PROBE = """
from gevent import monkey

monkey.patch_all()

import json, sys, time, uuid

import gevent

from app.brokers import OutgoingMessage, create_broker

url, busy, messages, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
broker = create_broker(url)
topic = "busy-hub-" + uuid.uuid4().hex[:8]
subscription = broker.subscribe(topic, group="busy-hub")
latencies, publish_times = [], []


def consume():
    while len(latencies) < messages:
        message = subscription.poll(1.0)
        if message is not None:
            latencies.append((time.time() - float(message.value)) * 1000)
            subscription.ack(message)


def burn():
    while len(latencies) < messages:
        started = time.perf_counter()
        while time.perf_counter() - started < 0.002:
            pass
        gevent.sleep(0)


burners = [gevent.spawn(burn) for _ in range(busy)]
consumer = gevent.spawn(consume)
for _ in range(messages // batch):
    started = time.perf_counter()
    sent = [OutgoingMessage(topic, str(time.time()).encode(), key="u") for _ in range(batch)]
    broker.publish_many(sent)
    publish_times.append((time.perf_counter() - started) * 1000)
    gevent.sleep(0.1)
consumer.join(timeout=120)
gevent.killall(burners)
subscription.close()
broker.close()
print(json.dumps({"latencies_ms": latencies, "publish_ms": publish_times}))
"""


def probe(url, busy, messages, batch):
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, url, str(busy), str(messages), str(batch)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if completed.returncode != 0:
        raise RuntimeError(completed.stderr[-2000:])
    raw = json.loads(completed.stdout.strip().splitlines()[-1])
    return {
        "busy_greenlets": busy,
        "messages": messages,
        "received": len(raw["latencies_ms"]),
        "publish_many_ms": percentiles(raw["publish_ms"]),
        "latency_ms": percentiles(raw["latencies_ms"]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", choices=["kafka", "rabbitmq", "all"], default="rabbitmq")
    parser.add_argument("--busy", type=int, nargs="+", default=[0, 8])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    brokers = ["kafka", "rabbitmq"] if args.broker == "all" else [args.broker]
    with deadline(args.timeout), Stack() as stack:
        for kind in brokers:
            url = stack.broker(kind)
            runs = []
            for busy in args.busy:
                runs.append(probe(url, busy, args.messages, args.batch))
                log(f"{kind} busy={busy}: {runs[-1]}")
            save_result(f"busy-hub-{kind}", {"broker": kind, "runs": runs}, dict(stack.info))


if __name__ == "__main__":
    main()
