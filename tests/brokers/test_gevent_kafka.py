"""A Kafka consumer waiting in poll must not freeze the other greenlets of a gevent worker.

librdkafka's poll blocks in C; the adapter runs it in gevent's native threadpool.
The check runs in a child process, because gevent's monkey-patching must come
before anything else is imported and would leak into the rest of the test run.
"""

import json
import subprocess
import sys

from tests.support.services import ROOT

TICK_INTERVAL = 0.01
WATCH_SECONDS = 2.0

PROBE = """
from gevent import monkey

monkey.patch_all()

import json, sys, uuid

import gevent

from app.brokers import create_broker

broker = create_broker(sys.argv[1])
subscription = broker.subscribe("herald-gevent-" + uuid.uuid4().hex, group=uuid.uuid4().hex)
ticks = 0


def tick():
    global ticks
    while True:
        gevent.sleep(float(sys.argv[2]))
        ticks += 1


ticker = gevent.spawn(tick)
poller = gevent.spawn(subscription.poll, 5.0)
gevent.sleep(float(sys.argv[3]))
result = {"ticks": ticks, "poll_still_waiting": not poller.ready()}
poller.join()
ticker.kill()
result["poll_result"] = repr(poller.value)
subscription.close()
broker.close()
print(json.dumps(result))
"""


def run_probe(code, *args):
    """Run `code` in a fresh interpreter; the JSON object it printed last."""
    completed = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_other_greenlets_keep_running_while_the_consumer_polls(kafka_service):
    result = run_probe(PROBE, kafka_service.url, TICK_INTERVAL, WATCH_SECONDS)

    assert result["poll_still_waiting"], result  # the ticks were counted during the poll
    assert result["poll_result"] == "None"
    assert result["ticks"] > 50, result  # ~200 expected; a frozen hub gives 0 or 1


LOG_PROBE = """
from gevent import monkey

monkey.patch_all()

import json, logging, sys, uuid

from app.brokers import create_broker

native_thread = monkey.get_original("_thread", "get_ident")  # not the greenlet's id
hub, threads = native_thread(), []


class Recorder(logging.Handler):
    def emit(self, record):
        threads.append(native_thread())


logging.getLogger("app.brokers.kafka").addHandler(Recorder())
logging.getLogger("app.brokers.kafka").setLevel(logging.DEBUG)
broker = create_broker(sys.argv[1], debug="cgrp")
subscription = broker.subscribe("herald-gevent-" + uuid.uuid4().hex, group=uuid.uuid4().hex)
subscription.poll(0.5)
subscription.close()
broker.close()
print(json.dumps({"records": len(threads), "off_the_hub": sum(t != hub for t in threads)}))
"""


def test_driver_log_lines_are_written_by_the_hub_not_the_pool_thread(kafka_service):
    # Logging inside a pool thread takes gevent locks that thread cannot wait on while
    # the hub holds them (gevent#1698); under load that froze a worker for good.
    result = run_probe(LOG_PROBE, kafka_service.url)

    assert result["records"] > 10, result  # the cgrp debug context logs the whole join
    assert result["off_the_hub"] == 0, result
