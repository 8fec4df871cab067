"""Delivery when things fail: a broker that refuses publishes, dead clients, crashed instances."""

import threading
import time
import uuid

import pytest
import requests
import websocket

from app.brokers import BrokerUnavailable
from app.delivery import events
from app.notifications.models import Notification
from tests.support.clients import Api, presence_of, raw_websocket, wait_until
from tests.support.processes import HeraldProcess, herald_env

GOING_AWAY = 1001


def test_outbox_delivers_once_the_broker_takes_publishes_again(own_server, monkeypatch, sockets):
    live = own_server()
    api = Api(live.url)
    alice, bob = api.register("alice"), api.register("bob")
    socket_ = sockets(live.url, bob)
    assert socket_.receive_type("ready") is not None

    broker = live.node.broker
    real_publish_many = broker.publish_many
    failures = []

    def refuse(messages):
        failures.append(len(messages))
        raise BrokerUnavailable("broker is down (test)")

    monkeypatch.setattr(broker, "publish_many", refuse)
    accepted = [api.notify(alice, bob, f"during outage {i}")["id"] for i in range(3)]
    assert wait_until(lambda: len(failures) >= 2, timeout=10), "the relay never retried"
    assert socket_.drain(0.5) == []

    monkeypatch.setattr(broker, "publish_many", real_publish_many)
    received = []
    while len(received) < 3 and (frame := socket_.receive_type("notification", timeout=10)):
        received.append(frame["data"]["id"])
    assert received == accepted
    assert socket_.drain(0.5) == []


def a_socket_that_saw_one(sockets, url):
    """`api`, alice, bob, a socket of bob's and the notification from alice it received."""
    api = Api(url)
    alice, bob = api.register("alice"), api.register("bob")
    socket_ = sockets(url, bob)
    assert socket_.receive_type("ready") is not None
    seen = api.notify(alice, bob, "seen before")
    assert socket_.receive_type("notification", timeout=5)["data"]["id"] == seen["id"]
    return api, alice, bob, socket_, seen


def stall_after_publishing(broker, monkeypatch):
    """Stop the relay after the broker took a batch, before it deletes the outbox entries.

    Returns `(on_broker, release)`: the first is set once a batch is on the
    broker; setting the second lets the relay go on.
    """
    publish_many, on_broker, release = broker.publish_many, threading.Event(), threading.Event()

    def publish_then_stall(messages):
        publish_many(messages)
        on_broker.set()
        release.wait(30)

    monkeypatch.setattr(broker, "publish_many", publish_then_stall)
    return on_broker, release


def test_a_starting_instance_gives_a_resuming_client_what_was_half_published(
    own_server, monkeypatch, sockets
):
    """A notification on the broker before a new instance subscribes (so that instance
    never delivers it live) but still in its publisher's outbox (so a resume leaves it
    out) must still reach a client that resumes on the new instance."""
    broker_url = f"memory://{uuid.uuid4().hex}"
    first = own_server(BROKER_URL=broker_url)
    api, alice, bob, _, seen = a_socket_that_saw_one(sockets, first.url)
    broker = first.node.broker
    on_broker, release = stall_after_publishing(broker, monkeypatch)
    half_published = api.notify(alice, bob, "half published")
    assert on_broker.wait(10)
    second = own_server(BROKER_URL=broker_url, wait_for_consumer=False)
    groups = broker.network.topics[second.app.config["BROKER_TOPIC"]]
    assert wait_until(lambda: len(groups) == 2, timeout=10), "the new instance never subscribed"

    try:  # a client resuming now, on the new instance, from what it has seen
        resumed = sockets(second.url, bob, since=seen["id"])
        assert resumed.receive_type("ready") is not None
    except websocket.WebSocketBadStatusException as refused:
        assert refused.status_code == 503  # not ready: it tries again in a moment
        resumed = None
    release.set()
    if resumed is None:
        assert wait_until(second.node.consumer.subscribed.is_set, timeout=10)
        resumed = sockets(second.url, bob, since=seen["id"])

    # It comes (10 s: a loaded CI machine), and once.
    first_frame = resumed.receive_type("notification")
    later = [f for f in resumed.drain(1.0) if f["type"] == "notification"]
    received = [f["data"]["id"] for f in [first_frame, *later] if f is not None]
    assert received == [half_published["id"]]


def test_a_client_resuming_while_its_notification_is_half_published_gets_it(
    own_server, monkeypatch, sockets
):
    """Published while the client was between two sockets (so no socket got it live)
    but still in the outbox when it resumes (a backlog leaves out what is still there):
    the resume must wait for the relay to finish and include it."""
    live = own_server()
    api, alice, bob, first, seen = a_socket_that_saw_one(sockets, live.url)
    first.close()
    assert wait_until(lambda: not live.node.hub.sessions_of(bob.id), timeout=5)
    on_broker, release = stall_after_publishing(live.node.broker, monkeypatch)
    half_published = api.notify(alice, bob, "published between sockets")
    assert on_broker.wait(10)
    threading.Timer(0.5, release.set).start()  # the relay finishes while the client resumes

    resumed = sockets(live.url, bob, since=seen["id"])
    frames = resumed.drain(2.0)
    received = [f["data"]["id"] for f in frames if f["type"] == "notification"]
    assert received == [half_published["id"]]
    assert [f["type"] for f in frames][-1] == "ready"


def test_a_republished_notification_reaches_only_the_sockets_that_did_not_have_it(
    own_server, sockets
):
    """A publisher that dies between the broker's ack and deleting its outbox entry
    publishes again. A socket opened in between, whose resume left the notification
    out while it was in the outbox, must get it; one that had it must not again."""
    live = own_server()
    _, _, bob, first, sent = a_socket_that_saw_one(sockets, live.url)
    second = sockets(live.url, bob)
    assert second.receive_type("ready") is not None

    with live.app.app_context():
        notification = Notification.objects.get(id=sent["id"])
    live.node.broker.publish(
        live.app.config["BROKER_TOPIC"], events.encode(notification), key=bob.id
    )
    frame = second.receive_type("notification", timeout=5)
    assert frame is not None and frame["data"]["id"] == sent["id"]
    assert first.drain(1.0) == [], "a socket got the same notification twice"


def closed_by_server(conn, timeout):
    """Read what the server still sends (pings, a close frame) until it closes the TCP
    connection; False if it is still open after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        conn.settimeout(left)
        try:
            if conn.recv(65536) == b"":
                return True
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
    return False


def test_server_pings_and_drops_a_client_that_never_answers(own_server, sockets):
    live = own_server(WS_PING_INTERVAL=0.5)
    api = Api(live.url)
    bob = api.register("bob")

    answering = sockets(live.url, bob)
    opcode = None
    deadline = time.monotonic() + 5
    while opcode != 0x9 and time.monotonic() < deadline:
        opcode, _ = answering.ws.recv_data_frame(control_frame=True)
    assert opcode == 0x9, "the server never pinged"
    answering.close()
    assert wait_until(lambda: live.node.hub.socket_count() == 0, 5)

    silent = raw_websocket(live.url, bob.access_token)
    assert wait_until(lambda: live.node.hub.socket_count() == 1, 5)
    assert wait_until(lambda: live.node.hub.socket_count() == 0, 10), "dead client kept"
    assert wait_until(lambda: not api.get("/api/users/me", account=bob).json()["connected"], 5)
    silent.close()


@pytest.mark.slow
def test_under_gunicorn_the_hub_drops_a_client_that_never_answers_pings(mongodb_uri):
    """The ping loop runs in the gevent worker as in the threaded test server."""
    with HeraldProcess(herald_env(mongodb_uri, WS_PING_INTERVAL="0.5")).start() as herald:
        api = Api(herald.url)
        bob = api.register("bob")

        def connected():
            return api.get("/api/users/me", account=bob).json()["connected"]

        silent = raw_websocket(herald.url, bob.access_token)  # (asserts the 101)
        assert closed_by_server(silent, 10), "a client that never answers was kept"
        assert wait_until(lambda: not connected(), 5), "its presence outlived the socket"
        silent.close()


@pytest.mark.slow
def test_gunicorn_gevent_worker_delivers(mongodb_uri, sockets):
    herald = HeraldProcess(herald_env(mongodb_uri)).start()
    try:
        api = Api(herald.url)
        alice, bob = api.register("alice"), api.register("bob")
        socket_ = sockets(herald.url, bob)
        assert socket_.receive_type("ready") is not None
        created = api.notify(alice, bob, "from gunicorn")
        assert socket_.receive_type("notification", timeout=1.0)["data"] == created
        # A shutdown tells sockets to go elsewhere (1001) instead of leaving them hanging.
        herald.stop()
        assert socket_.wait_closed(10) == GOING_AWAY
    finally:
        herald.stop()


def test_the_gunicorn_worker_freezes_its_start_up_objects_and_defers_full_collections(
    mongodb_uri,
):
    probe = "tests.support.collector_probe:app"
    with HeraldProcess(herald_env(mongodb_uri), app=probe).start() as herald:
        settings = requests.get(herald.url + "/test/collector", timeout=5).json()
    assert settings["frozen"] > 0, "gc.freeze() was not called in the worker"
    assert settings["thresholds"] == [10_000, 10, 100]


@pytest.mark.slow
def test_presence_expires_after_an_instance_crashes(server, api, mongodb_uri, sockets):
    bob = api.register("bob")
    crashing = HeraldProcess(
        herald_env(
            mongodb_uri, JWT_SECRET_KEY=server.app.config["JWT_SECRET_KEY"], PRESENCE_TTL="2"
        )
    ).start()
    try:
        watcher = sockets(server.url, api.register("watcher"))
        assert watcher.receive_type("ready") is not None
        watcher.send({"type": "presence.watch"})
        socket_ = sockets(crashing.url, bob)
        assert socket_.receive_type("ready") is not None
        assert wait_until(lambda: api.get("/api/users/me", account=bob).json()["connected"], 5)
        crashing.kill()
        # The killed instance never said goodbye: only its heartbeat's expiry tells...
        assert wait_until(lambda: not api.get("/api/users/me", account=bob).json()["connected"], 15)
        # ...and the surviving instance, sweeping it, tells the presence watchers.
        gone = presence_of(watcher, bob, timeout=20)
        assert gone == {"userId": bob.id, "username": bob.username, "connected": False}
    finally:
        crashing.kill()


def notify_with_the_broker_refusing(live, monkeypatch, message):
    """A notification accepted by `live` whose broker refuses every publish: it stays
    in `live`'s outbox."""

    def refuse(messages):
        raise BrokerUnavailable("the first instance's broker is down (test)")

    monkeypatch.setattr(live.node.broker, "publish_many", refuse)
    api = Api(live.url)
    alice, bob = api.register("alice"), api.register("bob")
    return api.notify(alice, bob, message)


def test_a_live_instance_keeps_its_outbox_while_its_broker_is_away(own_server, monkeypatch):
    """Another instance takes over an outbox only once its instance stopped beating."""
    first = own_server(OUTBOX_ORPHAN_AFTER=0.5)
    second = own_server(OUTBOX_ORPHAN_AFTER=0.5)
    watching = second.node.broker.subscribe(second.app.config["BROKER_TOPIC"], group="watcher")
    created = notify_with_the_broker_refusing(first, monkeypatch, "stays with its instance")

    # Well past OUTBOX_ORPHAN_AFTER, the second instance leaves it alone: the first is alive.
    assert watching.poll(3.0) is None
    first.stop()  # now it is gone, and its outbox is an orphan
    message = wait_until(lambda: watching.poll(0.5), 15)
    assert message is not None and created["id"] in message.value.decode()
    watching.close()


def test_an_orphaned_outbox_entry_is_taken_over_only_for_its_own_topic(own_server, monkeypatch):
    """An instance of another deployment (another topic) sharing the database must not
    publish a dead instance's notifications into its own broker and drop them there."""
    from app.delivery.outbox import OutboxEntry

    first = own_server(OUTBOX_ORPHAN_AFTER=0.5)
    stranger = own_server(OUTBOX_ORPHAN_AFTER=0.5, BROKER_TOPIC="another-deployment")
    strangers_topic = stranger.node.broker.subscribe("another-deployment", group="watcher")
    created = notify_with_the_broker_refusing(first, monkeypatch, "for the first instance's topic")
    first.stop()  # its outbox entry is an orphan from now on

    assert strangers_topic.poll(3.0) is None, "another topic's relay took the orphan"
    assert OutboxEntry.objects(id=created["id"]).first() is not None
    own_server(OUTBOX_ORPHAN_AFTER=0.5)  # an instance of the same topic takes it over
    assert wait_until(lambda: OutboxEntry.objects(id=created["id"]).first() is None, 15)
    strangers_topic.close()


def test_a_starting_instance_does_not_wait_for_another_topics_outbox(own_server, monkeypatch):
    """Sockets are accepted once this topic's older notifications are out of the outbox;
    a live instance of another deployment sharing the database, whose broker is away,
    must not hold the start-up back."""
    stranger = own_server(BROKER_TOPIC="another-deployment")
    notify_with_the_broker_refusing(stranger, monkeypatch, "stays in the stranger's outbox")

    starting = own_server(OUTBOX_SETTLE_TIMEOUT=60, wait_for_consumer=False)
    assert wait_until(starting.node.consumer.subscribed.is_set, timeout=10), (
        "the start-up waited for another topic's outbox entry"
    )


def test_a_backlog_the_store_cannot_read_closes_the_socket_with_1013(
    own_server, monkeypatch, sockets
):
    """The socket is upgraded by then: 1013 sends its client back with the same `since`."""
    import pymongo.errors

    from app.notifications import service

    live = own_server()
    api, alice, bob, _socket, seen = a_socket_that_saw_one(sockets, live.url)
    missed = api.notify(alice, bob, "missed while away")
    real_inbox_since = service.inbox_since

    def unreachable(**_kwargs):
        raise pymongo.errors.ServerSelectionTimeoutError("the store is down (test)")

    monkeypatch.setattr(service, "inbox_since", unreachable)
    refused = sockets(live.url, bob, since=seen["id"])
    assert refused.wait_closed() == 1013
    monkeypatch.setattr(service, "inbox_since", real_inbox_since)
    again = sockets(live.url, bob, since=seen["id"])
    assert again.receive_type("notification")["data"]["id"] == missed["id"]
    assert again.receive_type("ready")["data"]["missed"] == 1
