"""Herald plus benchmark-only routes: a publisher, collector pauses, database commands.

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
so its pauses show up in the latency percentiles.

`GET /bench/commands` counts the database commands the worker sent since it
started or since `DELETE /bench/commands`, by command and collection (`insert
notifications`, `find users`, ...), with pymongo's command monitoring: the
listener is registered before the app creates its client, so it sees every
command of the request path and of the background loops alike. Never deployed:
this module exists only under bench/.
"""

import collections
import gc
import threading
import time

from flask import jsonify, request
from pymongo import monitoring


class CommandCounter(monitoring.CommandListener):
    """Counts started commands by `<command> <collection>`."""

    def __init__(self):
        self.counts, self._lock = collections.Counter(), threading.Lock()

    def started(self, event):
        target = event.command.get(event.command_name)
        key = f"{event.command_name} {target}" if isinstance(target, str) else event.command_name
        with self._lock:
            self.counts[key] += 1

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    def take(self, reset=False):
        with self._lock:
            counts = dict(self.counts)
            if reset:
                self.counts.clear()
        return counts


commands = CommandCounter()
monitoring.register(commands)  # before `wsgi` builds the app and its MongoClient

# Imported after: the listener must exist before the app's client does.
from app.brokers import OutgoingMessage  # noqa: E402
from app.concurrency import spawn  # noqa: E402
from app.extensions import current_node  # noqa: E402
from bench import publishers  # noqa: E402
from wsgi import app  # noqa: E402


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


@app.get("/bench/commands")
def bench_commands():
    return jsonify(commands.take())


@app.delete("/bench/commands")
def bench_commands_reset():
    commands.take(reset=True)
    return "", 204
