"""Retries and dead letters on every broker: memory, a real Kafka and a real RabbitMQ.

Each test runs a Herald in the test process (so it can make the delivery
handler fail on purpose) served over real sockets, on its own topics.
"""

import base64
import uuid

import pytest

from app.brokers import create_broker
from app.delivery.dead_letters import DeadLetter
from app.delivery.events import NotificationEvent
from tests.support.clients import Api, wait_until


@pytest.fixture(params=["memory", "kafka", "rabbitmq"])
def broker_url(request):
    if request.param == "memory":
        return f"memory://{uuid.uuid4().hex}"
    return request.getfixturevalue(f"{request.param}_service").url


@pytest.fixture
def retrying_server(own_server, broker_url):
    """A Herald of the test's own on the test's broker and topics, subscribed before use."""

    def start(**overrides):
        topic = f"herald-retry-{uuid.uuid4().hex[:8]}"
        live = own_server(
            BROKER_URL=broker_url,
            BROKER_TOPIC=topic,
            BROKER_DEAD_LETTER_TOPIC=f"{topic}.dlq",
            **overrides,
        )
        assert live.node.consumer.subscribed.wait(30), "the consumer never subscribed"
        return live

    return start


def test_a_failing_handler_is_retried_then_dead_lettered(retrying_server, monkeypatch):
    live = retrying_server(RETRY_MAX_ATTEMPTS=3, RETRY_BASE_DELAY=0.05)
    node, config = live.node, live.app.config
    dead_letter_topic = create_broker(config["BROKER_URL"], **config["BROKER_OPTIONS"])
    watching = dead_letter_topic.subscribe(config["BROKER_DEAD_LETTER_TOPIC"], group="watcher")
    calls = []

    def broken(event):
        calls.append(event.notification_id)
        raise RuntimeError("socket layer exploded (test)")

    monkeypatch.setattr(node.consumer, "handler", broken)
    api = Api(live.url)
    alice, bob = api.register("alice"), api.register("bob")
    created = api.notify(alice, bob)

    letter = wait_until(lambda: DeadLetter.objects(instance_id=node.instance_id).first(), 20)
    assert calls == [created["id"]] * 3
    assert letter.attempts == 3 and "exploded" in letter.error
    assert created["id"] in letter.value.decode()

    published = wait_until(lambda: watching.poll(0.5), 20)
    assert published.value == letter.value and published.key == bob.id
    assert published.headers["herald-attempts"] == "3"
    assert "exploded" in published.headers["herald-error"]
    assert published.headers["herald-original-topic"] == config["BROKER_TOPIC"]
    watching.close()
    dead_letter_topic.close()


def test_a_malformed_message_is_dead_lettered_at_once(retrying_server):
    live = retrying_server()
    node = live.node
    assert node.consumer.subscribed.wait(5)
    node.broker.publish(live.app.config["BROKER_TOPIC"], b"\xff not json", key="x")

    letter = wait_until(lambda: DeadLetter.objects(instance_id=node.instance_id).first(), 20)
    assert letter.attempts == 1 and letter.value == b"\xff not json"


def test_retries_hold_back_only_the_failing_users_messages(retrying_server, monkeypatch, sockets):
    live = retrying_server(RETRY_MAX_ATTEMPTS=3, RETRY_BASE_DELAY=3.0)
    api = Api(live.url)
    sender, unlucky, lucky = api.register("sender"), api.register("unlucky"), api.register("lucky")
    unlucky_socket, lucky_socket = sockets(live.url, unlucky), sockets(live.url, lucky)
    for socket_ in (unlucky_socket, lucky_socket):
        assert socket_.receive_type("ready") is not None

    consumer, deliver = live.node.consumer, live.node.consumer.handler
    attempts = []

    def fails_once_for_unlucky(event):
        if isinstance(event, NotificationEvent) and event.user_id == unlucky.id:
            attempts.append(event.notification_id)
            if len(attempts) == 1:
                raise RuntimeError("transient failure (test)")
        deliver(event)

    monkeypatch.setattr(consumer, "handler", fails_once_for_unlucky)
    first = api.notify(sender, unlucky, "first")
    assert wait_until(lambda: attempts, 5)
    second = api.notify(sender, unlucky, "second")
    other = api.notify(sender, lucky, "meanwhile")

    # The lucky user's notification is not held up by the other user's retry...
    assert lucky_socket.receive_type("notification", timeout=5)["data"]["id"] == other["id"]
    assert attempts == [first["id"]], "the retry should still be waiting"
    # ...and the unlucky user gets both, in order, once the retry succeeds.
    got = [unlucky_socket.receive_type("notification", timeout=5)["data"]["id"] for _ in range(2)]
    assert got == [first["id"], second["id"]]
    assert attempts == [first["id"], first["id"], second["id"]]


def test_admins_list_and_replay_dead_letters(retrying_server, monkeypatch, sockets):
    live = retrying_server(RETRY_MAX_ATTEMPTS=2, RETRY_BASE_DELAY=0.05)
    api = Api(live.url)
    admin = api.login(None, "admin", "admin@example.test", "admin-password-1")
    sender, bob = api.register("sender"), api.register("bob")
    consumer, deliver = live.node.consumer, live.node.consumer.handler

    def broken(event):
        if isinstance(event, NotificationEvent):
            raise RuntimeError("down for the test")
        deliver(event)

    monkeypatch.setattr(consumer, "handler", broken)
    lost = [api.notify(sender, bob, f"will be dead-lettered {i}")["id"] for i in range(2)]

    def letters_of(notification_id, **params):
        page = api.get(
            "/api/admin/dead-letters", account=admin, params={"per_page": 100, **params}
        ).json()
        return [
            item
            for item in page["items"]
            if notification_id in base64.b64decode(item["payload"]).decode(errors="replace")
        ]

    assert wait_until(lambda: letters_of(lost[0]) and letters_of(lost[1]), 10)
    letter = letters_of(lost[0])[0]
    assert letter["attempts"] == 2 and "down for the test" in letter["error"]
    assert letter["replayedAt"] is None
    assert api.get("/api/admin/dead-letters", account=bob).status_code == 403

    monkeypatch.setattr(consumer, "handler", deliver)
    socket_ = sockets(live.url, bob)
    assert socket_.receive_type("ready") is not None
    replayed = api.post(f"/api/admin/dead-letters/{letter['id']}/replay", account=admin)
    assert replayed.status_code == 200 and replayed.json()["replayedAt"]
    assert socket_.receive_type("notification", timeout=5)["data"]["id"] == lost[0]

    assert api.post("/api/admin/dead-letters/replay", account=admin).json()["count"] >= 1
    assert socket_.receive_type("notification", timeout=5)["data"]["id"] == lost[1]
    assert not letters_of(lost[1], replayed="false")
    assert socket_.drain(0.5) == []
    missing = api.post(f"/api/admin/dead-letters/{uuid.uuid4()}/replay", account=admin)
    assert missing.status_code == 404
