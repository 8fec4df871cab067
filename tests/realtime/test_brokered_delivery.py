"""Herald instances sharing a real Kafka or RabbitMQ: fan-out, and outages that lose nothing.

Every instance here is a gunicorn process with the gevent worker, on the
session's database and the session's real broker.
"""

import shutil
import tempfile
import time
import uuid

import pytest

from tests.support.clients import Api, wait_until
from tests.support.processes import HeraldProcess
from tests.support.services import ScriptService, free_port

pytestmark = pytest.mark.slow


@pytest.fixture(params=["kafka", "rabbitmq"])
def broker(request):
    """Each test runs once on Kafka and once on RabbitMQ."""
    return request.getfixturevalue(f"{request.param}_service")


@pytest.fixture
def heralds(mongodb_uri):
    started = []

    def start(broker_url, mongodb=mongodb_uri, **env):
        herald = HeraldProcess(
            {
                "HERALD_ENV": "testing",
                "MONGODB_URI": mongodb,
                "BROKER_URL": broker_url,
                # Each test gets its own topics, so no test sees another's traffic.
                "BROKER_TOPIC": topic,
                "BROKER_DEAD_LETTER_TOPIC": f"{topic}.dlq",
                "JWT_SECRET_KEY": "brokered-test-secret-0123456789abcdef",
                "OUTBOX_POLL_INTERVAL": "0.5",
                "ACCESS_LOG": "",
                **env,
            }
        ).start(timeout=60)
        started.append(herald)
        return herald

    topic = f"herald-test-{uuid.uuid4().hex[:8]}"
    yield start
    for herald in started:
        herald.stop()


def ready(socket_):
    assert socket_.receive_type("ready", timeout=5) is not None
    return socket_


def collect(socket_, count, timeout):
    """Notification ids as they arrive, until `count` came or `timeout` passed."""
    ids, deadline = [], time.monotonic() + timeout
    while len(ids) < count and time.monotonic() < deadline:
        frame = socket_.receive(1.0)
        if frame and frame["type"] == "notification":
            ids.append(frame["data"]["id"])
    return ids


def test_a_notification_made_on_one_instance_reaches_sockets_on_every_instance(
    broker, heralds, sockets
):
    first, second = heralds(broker.url), heralds(broker.url)
    api_first, api_second = Api(first.url), Api(second.url)
    sender, bob = api_second.register("sender"), api_first.register("bob")
    on_first = ready(sockets(first.url, bob))
    on_second = ready(sockets(second.url, bob))

    created = api_second.notify(sender, bob, "across instances")

    for socket_ in (on_first, on_second):
        # A bound, not a speed check: the first publish to a fresh Kafka topic (producer
        # id, leader, metadata) alone took just over a second on a quiet machine.
        assert socket_.receive_type("notification", timeout=5.0)["data"] == created
    for socket_ in (on_first, on_second):
        assert socket_.drain(0.7) == [], "a socket got the notification twice"


def test_inbox_changes_on_one_instance_reach_every_socket_of_the_user_on_every_instance(
    broker, heralds, sockets
):
    first, second = heralds(broker.url), heralds(broker.url)
    api = Api(second.url)
    sender, bob, carol = api.register("sender"), api.register("bob"), api.register("carol")
    bobs = [ready(sockets(first.url, bob)), ready(sockets(second.url, bob))]
    carols = ready(sockets(first.url, carol))
    one, two = api.notify(sender, bob, "one"), api.notify(sender, bob, "two")
    for socket_ in bobs:
        assert collect(socket_, 2, timeout=10) == [one["id"], two["id"]]

    changes = [
        (
            lambda: api.put(f"/api/notifications/{one['id']}", account=bob, json={}),
            "notification.updated",
        ),
        (
            lambda: api.delete(f"/api/notifications/{two['id']}", account=bob),
            "notification.deleted",
        ),
        (
            lambda: api.put(f"/api/notifications/{one['id']}", account=bob, json={"read": False}),
            "notification.updated",
        ),
        (lambda: api.post("/api/notifications/read-all", account=bob), "notifications.read_all"),
    ]
    for change, kind in changes:
        assert change().status_code in (200, 204)
        count = api.get("/api/notifications/unread-count", account=bob).json()["count"]
        for socket_ in bobs:
            # A bound, not a speed check (see the first test of this module).
            frame = socket_.receive_type(kind, timeout=5.0)
            assert frame is not None, f"{kind} never reached a socket of bob"
            assert frame["inbox"]["userId"] == bob.id and frame["inbox"]["unreadCount"] == count
    for socket_ in bobs:
        assert socket_.drain(0.7) == [], "a socket got a change twice"
    assert carols.drain(0.3) == [], "another user's socket got bob's changes"


def test_messages_receipts_and_typing_cross_instances(broker, heralds, sockets):
    first, second = heralds(broker.url), heralds(broker.url)
    api = Api(second.url)
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    alice_here = ready(sockets(first.url, alice))
    bobs = [ready(sockets(first.url, bob)), ready(sockets(second.url, bob))]
    carols = ready(sockets(first.url, carol))

    response = api.post(f"/api/conversations/{bob.id}/messages", account=alice, json={"text": "hi"})
    assert response.status_code == 201, response.text
    sent = response.json()
    for socket_ in (alice_here, *bobs):  # the sender's socket on the other instance too
        # A bound, not a speed check (see the first test of this module).
        frame = socket_.receive_type("message", timeout=5.0)
        assert frame is not None and frame["data"] == sent

    read = api.put(f"/api/conversations/{alice.id}/read", account=bob, json={"upTo": sent["id"]})
    assert read.status_code == 200
    for socket_ in (alice_here, *bobs):
        receipt = socket_.receive_type("message.read", timeout=5.0)
        assert receipt is not None and receipt["data"]["upTo"] == sent["id"]

    bobs[1].send({"type": "typing", "to": alice.id})  # on the second, to alice on the first
    typing = alice_here.receive_type("typing", timeout=5.0)
    assert typing is not None and typing["data"] == {"from": bob.id, "to": alice.id}
    for socket_ in (alice_here, *bobs):
        assert socket_.drain(0.7) == [], "a socket got something twice"
    assert carols.drain(0.3) == [], "a stranger's socket got the conversation"


def test_a_broker_outage_loses_no_accepted_notification(broker, heralds, sockets):
    herald = heralds(broker.url)
    api = Api(herald.url)
    sender, bob = api.register("sender"), api.register("bob")
    socket_ = ready(sockets(herald.url, bob))
    before = api.notify(sender, bob, "before the outage")
    assert socket_.receive_type("notification", timeout=5)["data"]["id"] == before["id"]

    broker.stop()
    try:
        accepted = [api.notify(sender, bob, f"during the outage {i}")["id"] for i in range(5)]
        assert api.get("/readyz").status_code == 503
    finally:
        broker.start()
    accepted.append(api.notify(sender, bob, "after the outage")["id"])

    received = collect(socket_, len(accepted), timeout=90)
    assert sorted(received) == sorted(accepted)
    assert socket_.drain(1.0) == [], "a socket got a notification twice"
    assert wait_until(lambda: api.get("/readyz").status_code == 200, 60), api.get("/readyz").text


def test_with_the_database_down_requests_get_503_and_nothing_is_half_written(heralds):
    data_dir = tempfile.mkdtemp(prefix="herald-outage-db-")
    database = ScriptService("ferretdb.sh", free_port(), "--data", data_dir).start()
    try:
        uri = database.address("uri") + "outage"
        herald = heralds("memory://", mongodb=uri, MONGODB_TIMEOUT_MS="1000")
        api = Api(herald.url)
        sender, bob = api.register("sender"), api.register("bob")
        kept = api.notify(sender, bob, "before")

        database.stop()
        refused = api.post(
            "/api/notifications", account=sender, json={"userId": bob.id, "message": "while down"}
        )
        assert refused.status_code == 503
        assert set(refused.json()) == {"code", "status", "message", "errors"}
        assert api.get("/api/notifications", account=bob).status_code == 503
        assert (
            api.post(
                "/api/register",
                json={
                    "username": "late_user",
                    "email": "late@example.test",
                    "password": "longenough",
                },
            ).status_code
            == 503
        )

        database.start()
        listed = wait_until(lambda: api.get("/api/notifications", account=bob), 30)
        assert [n["id"] for n in listed.json()["items"]] == [kept["id"]]
        assert (
            api.post(
                "/api/login", json={"username": "late_user", "password": "longenough"}
            ).status_code
            == 401
        )
        assert api.notify(sender, bob, "after")["message"] == "after"
    finally:
        database.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
