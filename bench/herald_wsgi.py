"""Herald plus two benchmark-only routes, for the fan-out runs.

    gunicorn -c gunicorn.conf.py bench.herald_wsgi:app

`memory://` cannot be reached from another process, so `POST /bench/publish`
(JSON `{"userIds", "rate", "seconds", "phase"}`) starts a greenlet *inside the
worker* that publishes events, built exactly as `bench.publishers` builds them
(the app's own encoder), to the worker's memory broker at the given rate. Its
CPU (a few microseconds per message) is charged to the worker, as a real
broker client's would be.

`GET /bench/gc` reports the worker's garbage collections since it started or
since `DELETE /bench/gc`: count, total and longest pause per generation. A full
collection walks every object of every socket and stops the worker meanwhile,
so its pauses show up in the latency percentiles. Never deployed: this module
exists only under bench/.
"""

import gc
import time

from flask import jsonify, request

from app.brokers import OutgoingMessage
from app.concurrency import spawn
from app.extensions import current_node
from bench import publishers
from wsgi import app


class CollectorPauses:
    """Counts and times the collector's runs through `gc.callbacks`."""

    def __init__(self):
        self.reset()
        self._started = 0.0
        gc.callbacks.append(self._on_collection)

    def reset(self):
        self.count, self.seconds, self.longest = [0] * 3, [0.0] * 3, [0.0] * 3

    def _on_collection(self, phase, info):
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation, pause = info["generation"], time.perf_counter() - self._started
        self.count[generation] += 1
        self.seconds[generation] += pause
        self.longest[generation] = max(self.longest[generation], pause)

    def report(self):
        return {
            "collections": self.count,
            "pause_ms_total": [round(s * 1000, 1) for s in self.seconds],
            "pause_ms_longest": [round(s * 1000, 1) for s in self.longest],
            "thresholds": gc.get_threshold(),
            "frozen_objects": gc.get_freeze_count(),
        }


pauses = CollectorPauses()


def _publish(broker, topic, user_ids, rate, seconds, phase):
    import gevent

    made, headers = publishers.templates(user_ids, phase), dict(publishers.HEADERS)
    for batch in publishers.paced(user_ids, rate, seconds, sleep=gevent.sleep):
        sent = publishers.send_time()
        # One headers dict for all: the memory broker hands each consumer a copy.
        broker.publish_many(
            [OutgoingMessage(topic, publishers.fill(made[u], sent), u, headers) for u in batch]
        )
        gevent.sleep(0)


@app.post("/bench/publish")
def bench_publish():
    body = request.get_json()
    spawn(
        _publish,
        current_node().broker,
        app.config["BROKER_TOPIC"],
        body["userIds"],
        float(body["rate"]),
        float(body["seconds"]),
        body["phase"],
        name="bench-publisher",
    )
    return jsonify({"started": True}), 202


@app.get("/bench/gc")
def bench_gc():
    return jsonify(pauses.report())


@app.delete("/bench/gc")
def bench_gc_reset():
    pauses.reset()
    return "", 204
