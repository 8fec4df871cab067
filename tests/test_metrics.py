"""`GET /metrics`: who may scrape it, and that its figures follow what really happens.

Every figure is read back with prometheus-client's own text parser from a
running Herald: in-process servers on the memory broker and on the real Kafka
and RabbitMQ, and gunicorn with two workers for the multiprocess counting.
Counters are shared by every server of the test process, so the tests compare
before and after.
"""

import contextlib
import json
import os
import re
import signal
import socket
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from app.ids import new_id
from app.realtime import wire
from tests.support.clients import Api, raw_websocket, wait_until
from tests.support.processes import HeraldProcess, herald_env

METRICS_TOKEN = "metrics-scrape-token-0123456789"
SCRAPE = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def scrape(url, headers=SCRAPE):
    """{(name, labels as a sorted tuple): value} of one scrape, on a connection of its own."""
    response = requests.get(url + "/metrics", headers=headers, timeout=15)
    assert response.status_code == 200, response.text
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def values(samples, name):
    """{labels dict as a tuple: value} of every sample called `name`."""
    return {labels: v for (n, labels), v in samples.items() if n == name}


@pytest.fixture
def metered(own_server):
    """A Herald of the test's own that takes METRICS_TOKEN."""
    return own_server(METRICS_TOKEN=METRICS_TOKEN)


@pytest.mark.parametrize(
    "headers, status",
    [
        ({}, 401),
        ({"Authorization": "Bearer not-the-token"}, 401),
        ({"Authorization": f"Basic {METRICS_TOKEN}"}, 401),
    ],
)
def test_metrics_are_refused_without_the_token_or_an_admin(metered, headers, status):
    response = requests.get(metered.url + "/metrics", headers=headers, timeout=10)
    assert response.status_code == status
    assert set(response.json()) == {"code", "status", "message", "errors"}
    assert METRICS_TOKEN not in response.text


def test_a_user_gets_403_and_an_admin_or_the_token_gets_the_metrics(metered, make_config):
    api = Api(metered.url)
    alice = api.register("alice")
    refused = api.get("/metrics", account=alice)
    assert refused.status_code == 403 and refused.json()["code"] == 403
    admin = api.post("/api/login", json={"username": "admin", "password": "admin-password-1"})
    headers = {"Authorization": f"Bearer {admin.json()['access_token']}"}
    assert "herald_http_requests_total" in str(scrape(metered.url, headers))
    assert "herald_http_requests_total" in str(scrape(metered.url))
    response = requests.get(metered.url + "/metrics", headers=SCRAPE, timeout=10)
    assert response.headers["Content-Type"].startswith("text/plain")


def test_the_figures_move_with_requests_sockets_and_notifications(metered, sockets):
    api = Api(metered.url)
    sender, bob = api.register("sender"), api.register("bob")
    before = scrape(metered.url)

    socket_ = sockets(metered.url, bob)
    assert socket_.receive_type("ready") is not None
    opened = scrape(metered.url)
    assert value(opened, "herald_sockets_open") == value(before, "herald_sockets_open") + 1
    assert value(opened, "herald_socket_users") == value(before, "herald_socket_users") + 1
    assert value(opened, "herald_users_online") >= 1

    created = api.notify(sender, bob, "counted")
    assert socket_.receive_type("notification", timeout=5)["data"]["id"] == created["id"]
    assert api.get(f"/api/notifications/{created['id']}", account=bob).status_code == 200
    after = scrape(metered.url)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("herald_notifications_created_total") == 1
    assert grew("herald_frames_sent_total") == 1
    assert grew("herald_delivery_latency_seconds_count") == 1
    assert grew("herald_events_consumed_total", kind="notification") == 1
    post = {"method": "POST", "route": "/api/notifications"}
    assert grew("herald_http_requests_total", **post, status="201") == 1
    assert grew("herald_http_request_duration_seconds_count", **post) == 1
    one = {"method": "GET", "route": "/api/notifications/<notification_id>"}
    assert grew("herald_http_requests_total", **one, status="200") == 1
    # The route template, never the raw path (whose ids would make a series each).
    assert created["id"] not in str(after.keys())

    socket_.close()
    closed = wait_until(
        lambda: (
            value(s := scrape(metered.url), "herald_sockets_open")
            == value(before, "herald_sockets_open")
            and s
        )
    )
    assert closed, "the open-sockets gauge did not come back down"
    assert value(closed, "herald_socket_users") == value(before, "herald_socket_users")
    # A socket is counted once it ends, as 101, and its life is no request latency.
    upgraded = {"method": "GET", "route": "/ws", "status": "101"}
    ws_latency = {"method": "GET", "route": "/ws"}

    def ws_counted(samples):
        return value(samples, "herald_http_requests_total", **upgraded) - value(
            before, "herald_http_requests_total", **upgraded
        )

    counted = wait_until(lambda: ws_counted(s := scrape(metered.url)) and s)
    assert counted and ws_counted(counted) == 1
    latency_of_ws = "herald_http_request_duration_seconds_count"
    assert value(counted, latency_of_ws, **ws_latency) == value(before, latency_of_ws, **ws_latency)


def test_an_unknown_path_is_counted_under_one_label(metered):
    api = Api(metered.url)
    path = f"/no-such-page-{uuid.uuid4().hex}"
    assert api.get(path).status_code == 404
    samples = scrape(metered.url)
    assert path not in str(samples.keys())
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    assert value(samples, "herald_http_requests_total", **unmatched) >= 1


def test_rate_limit_rejections_are_counted_by_rule(own_server):
    live = own_server(
        METRICS_TOKEN=METRICS_TOKEN,
        RATELIMIT_ENABLED=True,
        RATELIMITS={
            "login_per_address": "2/minute",
            "login_per_account": "100/minute",
            "register_per_address": "100/minute",
            "notify_per_sender": "100/minute",
            "socket_per_address": "100/minute",
        },
    )
    before = value(scrape(live.url), "herald_rate_limited_total", rule="login_per_address")
    api = Api(live.url)
    answers = [
        api.post("/api/login", json={"username": "nobody", "password": "x"}).status_code
        for _ in range(3)
    ]
    assert answers[-1] == 429
    after = value(scrape(live.url), "herald_rate_limited_total", rule="login_per_address")
    assert after == before + 1


@pytest.fixture(params=["kafka", "rabbitmq"])
def broker(request):
    return request.getfixturevalue(f"{request.param}_service")


def brokered(own_server, broker, **overrides):
    topic = f"herald-metrics-{uuid.uuid4().hex[:8]}"
    return own_server(
        METRICS_TOKEN=METRICS_TOKEN,
        BROKER_URL=broker.url,
        BROKER_TOPIC=topic,
        BROKER_DEAD_LETTER_TOPIC=f"{topic}.dlq",
        **overrides,
    )


def lag_of(samples, instance_id):
    return sum(
        v
        for labels, v in values(samples, "herald_consumer_lag").items()
        if dict(labels)["instance"] == instance_id
    )


@pytest.mark.slow
def test_consumer_lag_grows_while_the_consumer_stands_still_and_drains_after(own_server, broker):
    live = brokered(own_server, broker)
    instance = live.app.config["INSTANCE_ID"]
    api = Api(live.url)
    sender, bob = api.register("sender"), api.register("bob")
    assert wait_until(lambda: instance in str(values(scrape(live.url), "herald_consumer_lag")))
    assert lag_of(scrape(live.url), instance) == 0
    assert value(scrape(live.url), "herald_broker_up") == 1

    live.node.consumer.stop()  # the instance lives on (heartbeat), its consumer does not read
    # It stops after its current poll: from then on each notification adds to the lag.
    assert wait_until(
        lambda: api.notify(sender, bob, "waiting") and lag_of(scrape(live.url), instance) >= 3,
        timeout=20,
        interval=0.2,
    )
    assert value(scrape(live.url), "herald_broker_up") == 1


@pytest.mark.slow
def test_the_outbox_backlog_and_its_age_grow_while_the_broker_is_down(own_server, rabbitmq_service):
    live = brokered(own_server, rabbitmq_service)
    api = Api(live.url)
    sender, bob = api.register("sender"), api.register("bob")
    assert value(scrape(live.url), "herald_outbox_entries") == 0
    rabbitmq_service.stop()
    try:
        for n in range(2):
            api.notify(sender, bob, f"kept {n}")  # accepted: the outbox keeps them
        down = scrape(live.url)
        assert value(down, "herald_outbox_entries") == 2
        assert value(down, "herald_broker_up") == 0
        aged = wait_until(
            lambda: value(s := scrape(live.url), "herald_outbox_oldest_age_seconds") >= 1 and s
        )
        assert aged, "the oldest entry's age did not grow"
    finally:
        rabbitmq_service.start()
    assert wait_until(lambda: value(scrape(live.url), "herald_outbox_entries") == 0, timeout=30)
    assert value(scrape(live.url), "herald_outbox_oldest_age_seconds") == 0


@pytest.mark.slow
def test_two_gunicorn_workers_are_counted_together(mongodb_uri, rabbitmq_service, sockets):
    """Each worker consumes every notification, so N notifications are 2N events consumed:
    every scrape, whichever worker answers it, must add up both workers' files."""
    topic = f"herald-metrics-{uuid.uuid4().hex[:8]}"
    folder = tempfile.mkdtemp(prefix="herald-test-metrics-")
    env = herald_env(
        mongodb_uri,
        BROKER_URL=rabbitmq_service.url,
        BROKER_TOPIC=topic,
        BROKER_DEAD_LETTER_TOPIC=f"{topic}.dlq",
        METRICS_TOKEN=METRICS_TOKEN,
        PROMETHEUS_MULTIPROC_DIR=folder,
    )
    with HeraldProcess(env, workers=2).start(timeout=60) as herald:
        api = Api(herald.url)
        sender, bob = api.register("sender"), api.register("bob")
        opened = [sockets(herald.url, bob) for _ in range(4)]
        for socket_ in opened:
            assert socket_.receive_type("ready") is not None
        for n in range(5):
            api.notify(sender, bob, f"counted twice {n}")

        def consumed(samples):
            return value(samples, "herald_events_consumed_total", kind="notification")

        assert wait_until(lambda: consumed(scrape(herald.url)) == 10, timeout=15)
        pids = {int(p) for p in re.findall(r"_(\d+)\.db", " ".join(_files(folder)))}
        assert set(herald.worker_pids()) <= pids
        for _ in range(8):  # new connections: the workers take turns answering
            samples = scrape(herald.url)
            assert consumed(samples) == 10
            assert value(samples, "herald_notifications_created_total") == 5
            assert value(samples, "herald_sockets_open") == 4
            assert value(samples, "herald_frames_sent_total") == 20


def _files(folder):
    return [path.name for path in Path(folder).iterdir()]


def test_retries_and_dead_letters_are_counted_by_reason(own_server, monkeypatch):
    live = own_server(METRICS_TOKEN=METRICS_TOKEN, RETRY_MAX_ATTEMPTS=3, RETRY_BASE_DELAY=0.05)
    node, topic = live.node, live.app.config["BROKER_TOPIC"]
    before = scrape(live.url)

    def broken(event):
        raise RuntimeError("socket layer exploded (test)")

    monkeypatch.setattr(node.consumer, "handler", broken)
    api = Api(live.url)
    sender, bob = api.register("sender"), api.register("bob")
    api.notify(sender, bob, "never delivered")
    node.broker.publish(topic, b"not an event at all", key=bob.id)

    def grew(samples, name, **labels):
        return value(samples, name, **labels) - value(before, name, **labels)

    dead = "herald_dead_letters_total"
    after = wait_until(
        lambda: (
            grew(s := scrape(live.url), dead, reason="exhausted") >= 1
            and grew(s, dead, reason="malformed") >= 1
            and s
        )
    )
    assert after, "the dead letters were not counted"
    assert grew(after, dead, reason="exhausted") == 1
    assert grew(after, dead, reason="malformed") == 1
    assert grew(after, "herald_consumer_retries_total") == 2  # attempts 2 and 3


def answers(socket_):
    """True while the socket's server answers a ping."""
    try:
        socket_.send({"type": "ping"})
        return socket_.receive_type("pong", timeout=2) is not None
    except Exception:
        return False


@pytest.mark.slow
def test_a_dead_workers_sockets_leave_the_gauge_and_its_counts_stay(
    mongodb_uri, rabbitmq_service, sockets
):
    """gunicorn's child_exit marks the worker dead: its live gauges go, its counters stay."""
    topic = f"herald-metrics-{uuid.uuid4().hex[:8]}"
    env = herald_env(
        mongodb_uri,
        BROKER_URL=rabbitmq_service.url,
        BROKER_TOPIC=topic,
        BROKER_DEAD_LETTER_TOPIC=f"{topic}.dlq",
        METRICS_TOKEN=METRICS_TOKEN,
    )
    with HeraldProcess(env, workers=2).start(timeout=60) as herald:
        api = Api(herald.url)
        sender, bob = api.register("sender"), api.register("bob")
        opened = [sockets(herald.url, bob) for _ in range(6)]
        for socket_ in opened:
            assert socket_.receive_type("ready") is not None
        api.notify(sender, bob, "before the crash")
        assert wait_until(
            lambda: value(scrape(herald.url), "herald_frames_sent_total") == 6, timeout=15
        )
        held = sockets_held(herald, opened)
        victim = max(held, key=held.get)  # the worker with most of bob's sockets
        assert held[victim] >= 1
        os.kill(victim, signal.SIGKILL)
        assert wait_until(lambda: victim not in herald.worker_pids() and herald.worker_pids())
        alive = sum(answers(socket_) for socket_ in opened)
        assert alive == len(opened) - held[victim]
        assert wait_until(
            lambda: value(scrape(herald.url), "herald_sockets_open") == alive, timeout=15
        ), f"the gauge kept the dead worker's sockets ({alive} still answer)"
        assert value(scrape(herald.url), "herald_frames_sent_total") == 6
        assert value(scrape(herald.url), "herald_notifications_created_total") == 1


def sockets_held(herald, opened):
    """{worker pid: how many of `opened` it serves}, from /proc (Linux)."""
    client_ports = {socket_.ws.sock.getsockname()[1] for socket_ in opened}
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        remote_port = int(fields[2].split(":")[1], 16)
        if local_port == herald.port and remote_port in client_ports:
            inodes.add(fields[9])
    held = {}
    for pid in herald.worker_pids():
        links = []
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                links.append(os.readlink(fd))
        held[pid] = sum(1 for link in links if link[8:-1] in inodes)
    return held


def test_a_socket_that_overflows_counts_its_dropped_frames(own_server):
    live = own_server(METRICS_TOKEN=METRICS_TOKEN, WS_SEND_QUEUE_SIZE=20)
    bob, hub = Api(live.url).register("bob"), live.node.hub
    before = scrape(live.url)
    reader = raw_websocket(live.url, bob.access_token)  # never reads again
    try:
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        assert wait_until(lambda: hub.socket_count() == 1, 5)
        # Large frames fill the kernel's buffers, then the socket's bounded queue.
        blob = json.dumps({"type": "notification", "data": {"blob": "x" * 65536}}).encode()
        deadline = time.monotonic() + 30
        while hub.socket_count() and time.monotonic() < deadline:
            hub.deliver(bob.id, new_id(), wire.Frame(blob))
            time.sleep(0.002)
        assert hub.socket_count() == 0, "the slow socket was never closed"
    finally:
        reader.close()
    after = scrape(live.url)
    overflowed = "herald_sockets_overflowed_total"
    assert value(after, overflowed) == value(before, overflowed) + 1
    dropped = value(after, "herald_frames_dropped_total") - value(
        before, "herald_frames_dropped_total"
    )
    assert dropped == 20 + 1  # the queue it had, and the frame that did not fit
