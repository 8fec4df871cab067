"""Herald plus one benchmark-only route, for fan-out over the in-process memory broker.

    gunicorn -c gunicorn.conf.py bench.herald_wsgi:app

`memory://` cannot be reached from another process, so `POST /bench/publish`
(JSON `{"userIds", "rate", "seconds", "phase"}`) starts a greenlet *inside the
worker* that publishes events, built exactly as `bench.publishers` builds them
(the app's own encoder), to the worker's memory broker at the given rate. Its
CPU (a few microseconds per message) is charged to the worker, as a real
broker client's would be. Never deployed: it exists only under bench/.
"""

from flask import jsonify, request

from app.brokers import OutgoingMessage
from app.concurrency import spawn
from app.realtime import runtime_of
from bench import publishers
from wsgi import app


def _publish(broker, topic, user_ids, rate, seconds, phase):
    import gevent

    made = publishers.templates(user_ids, phase)
    for batch in publishers.paced(user_ids, rate, seconds, sleep=gevent.sleep):
        broker.publish_many(
            [
                OutgoingMessage(topic, publishers.fill(made[u]), u, dict(publishers.HEADERS))
                for u in batch
            ]
        )
        gevent.sleep(0)


@app.post("/bench/publish")
def bench_publish():
    body = request.get_json()
    realtime = runtime_of(app)
    spawn(
        _publish,
        realtime.broker,
        app.config["BROKER_TOPIC"],
        body["userIds"],
        float(body["rate"]),
        float(body["seconds"]),
        body["phase"],
        name="bench-publisher",
    )
    return jsonify({"started": True}), 202
