"""Inbox state on every socket (issue 19): read, unread, read-all, delete and a sender's
edits reach all of a user's sockets, in the database's order, and a reconnect catches up.

Against a running Herald on the in-memory broker; the same across two gunicorn
instances on Kafka and RabbitMQ is in tests/realtime/test_brokered_delivery.py.
"""

import threading
import uuid

import pytest

from app.brokers import BrokerUnavailable
from app.notifications import inbox
from tests.support.clients import Api, wait_until
from tests.support.inbox_mirror import InboxMirror

STATE_FRAMES = {"notification.updated", "notification.deleted", "notifications.read_all"}


def unread_count(api, account):
    return api.get("/api/notifications/unread-count", account=account).json()["count"]


def ready(socket_):
    frame = socket_.receive_type("ready", timeout=5)
    assert frame is not None, "no ready frame"
    return frame["data"]


def next_state_frame(socket_, timeout=5.0):
    """The next inbox change frame (notifications and others are skipped)."""
    frames = []
    while (frame := socket_.receive(timeout)) is not None:
        if frame["type"] in STATE_FRAMES:
            return frame
        frames.append(frame)
    raise AssertionError(f"no inbox change frame within {timeout}s; got {frames}")


def rest_state(api, account):
    """{id: notification} of the account's inbox, as REST shows it."""
    page = api.get("/api/notifications", account=account, params={"per_page": 100}).json()
    return {n["id"]: n for n in page["items"]}


def test_every_change_reaches_every_socket_of_the_user_with_the_count_and_no_one_else(
    server, api, alice, bob, sockets
):
    first, second = sockets(server.url, bob), sockets(server.url, bob)
    strangers = sockets(server.url, alice)
    for socket_ in (first, second, strangers):
        ready(socket_)
    one, two, three = (api.notify(alice, bob, f"n{i}") for i in range(3))
    for socket_ in (first, second):
        assert len([f for f in socket_.drain(1.0) if f["type"] == "notification"]) == 3

    def everyone_sees(change, kind):
        """Make `change`; both of bob's sockets get one `kind` frame carrying the count
        REST returns right after. Returns that frame."""
        change()
        frames = [next_state_frame(socket_) for socket_ in (first, second)]
        assert frames[0] == frames[1] and frames[0]["type"] == kind
        assert frames[0]["inbox"]["unreadCount"] == unread_count(api, bob)
        assert frames[0]["inbox"]["userId"] == bob.id
        return frames[0]

    read = everyone_sees(
        lambda: api.put(f"/api/notifications/{one['id']}", account=bob, json={}),
        "notification.updated",
    )
    assert read["data"]["id"] == one["id"] and read["data"]["read"] is True
    assert read["inbox"]["unreadCount"] == 2
    unread = everyone_sees(
        lambda: api.put(f"/api/notifications/{one['id']}", account=bob, json={"read": False}),
        "notification.updated",
    )
    assert unread["data"]["read"] is False and unread["inbox"]["seq"] > read["inbox"]["seq"]
    over_the_socket = everyone_sees(
        lambda: first.send({"type": "read", "id": two["id"]}), "notification.updated"
    )
    assert over_the_socket["data"]["id"] == two["id"] and over_the_socket["data"]["read"]
    deleted = everyone_sees(
        lambda: api.delete(f"/api/notifications/{three['id']}", account=bob),
        "notification.deleted",
    )
    assert deleted["id"] == three["id"] and deleted["inbox"]["unreadCount"] == 1
    read_all = everyone_sees(
        lambda: api.post("/api/notifications/read-all", account=bob),
        "notifications.read_all",
    )
    assert read_all["upTo"] == two["id"] and read_all["stillUnread"] == []
    assert read_all["inbox"]["unreadCount"] == 0
    assert [f["type"] for f in strangers.drain(0.5)] == [], "another user's socket got one"


def test_a_socket_that_applies_the_frames_converges_to_the_database(
    server, api, alice, bob, sockets
):
    socket_ = sockets(server.url, bob)
    mirror = InboxMirror()
    mirror.apply(socket_.receive_type("ready", timeout=5))
    sent = [api.notify(alice, bob, f"n{i}") for i in range(4)]
    api.put(f"/api/notifications/{sent[0]['id']}", account=bob, json={})
    api.delete(f"/api/notifications/{sent[1]['id']}", account=bob)
    api.post("/api/notifications/read-all", account=bob, json={"upTo": sent[2]["id"]})
    api.put(f"/api/notifications/{sent[2]['id']}", account=bob, json={"read": False})
    expected = rest_state(api, bob)

    def converged():
        for frame in socket_.drain(0.3):
            mirror.apply(frame)
        return mirror.notifications == expected

    assert wait_until(converged, 10), (mirror.notifications, expected)
    assert mirror.unread_count == unread_count(api, bob) == 2


def test_a_reconnect_with_seq_gets_the_state_of_what_changed_while_away(
    server, api, alice, bob, sockets
):
    socket_ = sockets(server.url, bob)
    mirror = InboxMirror()
    mirror.apply(socket_.receive_type("ready", timeout=5))
    kept, deleted, read, edited = (api.notify(alice, bob, f"n{i}") for i in range(4))
    while len(mirror.notifications) < 4 and (frame := socket_.receive(5)):
        mirror.apply(frame)
    assert len(mirror.notifications) == 4
    socket_.close()
    assert wait_until(lambda: not server.node.hub.sessions_of(bob.id), 5)

    # While bob is away: a delete and a read on his other device, the sender's edit...
    assert api.delete(f"/api/notifications/{deleted['id']}", account=bob).status_code == 204
    assert api.put(f"/api/notifications/{read['id']}", account=bob, json={}).status_code == 200
    patch = api.request(
        "PATCH",
        f"/api/notifications/{edited['id']}",
        account=alice,
        json={"message": "edited while away"},
    )
    assert patch.status_code == 200
    later = api.notify(alice, bob, "arrived while away")

    resumed = sockets(
        server.url, bob, since=max(mirror.notifications), seq=mirror.applied_through()
    )
    frames = []
    while (frame := resumed.receive(5)) is not None:
        frames.append(frame)
        mirror.apply(frame)
        if frame["type"] == "ready":
            break
    ready_data = frames[-1]["data"]
    assert ready_data["missed"] == 1 and ready_data["changes"] == 3
    assert ready_data["resync"] is False
    assert ready_data["inbox"]["unreadCount"] == unread_count(api, bob) == 3
    by_type = {}
    for frame in frames[:-1]:
        by_type.setdefault(frame["type"], []).append(frame)
    assert [f["data"]["id"] for f in by_type["notification"]] == [later["id"]]
    assert [f["id"] for f in by_type["notification.deleted"]] == [deleted["id"]]
    assert {f["data"]["id"] for f in by_type["notification.updated"]} == {read["id"], edited["id"]}
    assert mirror.notifications == rest_state(api, bob)
    assert mirror.notifications[edited["id"]]["editedAt"] is not None
    assert kept["id"] in mirror.notifications
    assert mirror.unread_count == 3


@pytest.mark.parametrize("seq", ["10000000", "-1", "x"])
def test_a_seq_the_inbox_cannot_answer_asks_for_a_reload_or_is_refused(server, bob, sockets, seq):
    socket_ = sockets(server.url, bob, seq=seq)
    frame = socket_.receive(5)
    if seq.isdigit():  # beyond any change of this inbox: the client's copy is not this one
        assert frame["type"] == "ready" and frame["data"]["resync"] is True
    else:
        assert frame["type"] == "error" and frame["error"]["code"] == 422


def test_changes_older_than_the_retention_ask_for_a_reload(own_server, monkeypatch, sockets):
    live = own_server(INBOX_CHANGES_RETENTION=0.0)
    monkeypatch.setattr(inbox, "PURGE_INTERVAL", 0.0)  # purge before every change
    api = Api(live.url)
    alice, bob = api.register("alice"), api.register("bob")
    socket_ = sockets(live.url, bob)
    assert ready(socket_)["inbox"]["seq"] == 0
    created = api.notify(alice, bob)
    path = f"/api/notifications/{created['id']}"
    api.put(path, account=bob, json={})
    assert next_state_frame(socket_)["inbox"]["seq"] == 1
    api.put(path, account=bob, json={"read": False})  # forgets change 1 before it is made
    assert next_state_frame(socket_)["inbox"]["seq"] == 2

    resumed = sockets(live.url, bob, seq=0)
    assert ready(resumed)["resync"] is True, "change 1 is forgotten: the client must reload"
    current = sockets(live.url, bob, seq=2)
    assert ready(current)["resync"] is False


def test_racing_devices_end_in_the_same_state_on_every_socket_and_in_rest(
    server, api, alice, bob, sockets
):
    """Two tabs race on the same notifications (read, unread, delete, read-all); every
    socket, applying what it gets by the protocol's rules, ends as the database did."""
    watchers = [sockets(server.url, bob) for _ in range(2)]
    mirrors = [InboxMirror() for _ in watchers]
    for socket_, mirror in zip(watchers, mirrors, strict=True):
        mirror.apply(socket_.receive_type("ready", timeout=5))
    sent = [api.notify(alice, bob, f"n{i}") for i in range(6)]
    ids = [n["id"] for n in sent]

    def tab(actions):
        tab_api = Api(server.url)
        for action, notification_id in actions:
            if action == "read":
                tab_api.put(f"/api/notifications/{notification_id}", account=bob, json={})
            elif action == "unread":
                tab_api.put(
                    f"/api/notifications/{notification_id}", account=bob, json={"read": False}
                )
            elif action == "delete":
                tab_api.delete(f"/api/notifications/{notification_id}", account=bob)
            else:
                tab_api.post("/api/notifications/read-all", account=bob)

    first_tab = [("read", i) for i in ids] + [("unread", ids[1]), ("delete", ids[4])]
    second_tab = [("delete", ids[0]), ("unread", ids[2]), ("all", None), ("unread", ids[3])]
    threads = [threading.Thread(target=tab, args=(actions,)) for actions in (first_tab, second_tab)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    expected = rest_state(api, bob)

    def converged(socket_, mirror):
        for frame in socket_.drain(0.3):
            mirror.apply(frame)
        return mirror.notifications == expected and mirror.unread_count == unread_count(api, bob)

    for socket_, mirror in zip(watchers, mirrors, strict=True):
        assert wait_until(lambda s=socket_, m=mirror: converged(s, m), 10), mirror.notifications


def test_events_published_out_of_order_are_applied_in_the_databases_order(
    own_server, monkeypatch, sockets
):
    """Two instances: the first marks a notification read but its relay is held before
    publishing; the second then marks it unread and publishes at once. The socket gets
    "unread" and then the older "read": it must end unread, as the database is."""
    broker_url = f"memory://{uuid.uuid4().hex}"
    slow, fast = own_server(BROKER_URL=broker_url), own_server(BROKER_URL=broker_url)
    api = Api(fast.url)
    alice, bob = api.register("alice"), api.register("bob")
    socket_ = sockets(fast.url, bob)
    mirror = InboxMirror()
    mirror.apply(socket_.receive_type("ready", timeout=5))
    created = api.notify(alice, bob)
    mirror.apply(socket_.receive_type("notification", timeout=5))

    held, release = threading.Event(), threading.Event()
    publish_many = slow.node.broker.publish_many

    def publish_when_released(messages):
        held.set()
        assert release.wait(10)
        publish_many(messages)

    monkeypatch.setattr(slow.node.broker, "publish_many", publish_when_released)
    Api(slow.url).put(f"/api/notifications/{created['id']}", account=bob, json={})
    assert held.wait(10), "the slow relay never tried to publish"
    api.put(f"/api/notifications/{created['id']}", account=bob, json={"read": False})
    newer = next_state_frame(socket_)
    release.set()
    older = next_state_frame(socket_)

    assert newer["data"]["read"] is False and older["data"]["read"] is True
    assert older["inbox"]["seq"] < newer["inbox"]["seq"], "numbered in the database's order"
    for frame in (newer, older):
        mirror.apply(frame)
    assert mirror.notifications[created["id"]]["read"] is False
    assert rest_state(api, bob)[created["id"]]["read"] is False
    assert mirror.unread_count == unread_count(api, bob) == 1


def test_the_sender_edits_and_retracts_live_and_others_may_not(
    server, api, alice, bob, admin, sockets
):
    carol = api.register("carol")
    socket_ = sockets(server.url, bob)
    ready(socket_)
    created = api.notify(alice, bob, "first draft", data={"v": 1})
    socket_.receive_type("notification", timeout=5)
    path = f"/api/notifications/{created['id']}"

    edit = api.request("PATCH", path, account=alice, json={"message": "second draft"})
    assert edit.status_code == 200
    assert edit.json()["message"] == "second draft" and edit.json()["data"] == {"v": 1}
    assert edit.json()["editedAt"] is not None
    live = next_state_frame(socket_)
    assert live["type"] == "notification.updated" and live["data"] == edit.json()
    assert api.get(path, account=bob).json() == edit.json()

    by_admin = api.request("PATCH", path, account=admin, json={"data": None})
    assert by_admin.status_code == 200 and by_admin.json()["data"] is None
    assert next_state_frame(socket_)["data"]["data"] is None

    for account, status in ((bob, 403), (carol, 404)):
        refused = api.request("PATCH", path, account=account, json={"message": "mine now"})
        assert refused.status_code == status and refused.json()["code"] == status
    assert api.delete(path, account=carol).status_code == 404
    for body in ({}, {"message": ""}, {"message": "x" * 2001}, {"data": {"$bad": 1}}):
        invalid = api.request("PATCH", path, account=alice, json=body)
        assert invalid.status_code == 422, body
    assert api.get(path, account=bob).json() == by_admin.json(), "a refused edit changed it"
    assert socket_.drain(0.5) == []

    assert api.delete(path, account=alice).status_code == 204
    gone = next_state_frame(socket_)
    assert gone["type"] == "notification.deleted" and gone["id"] == created["id"]
    assert api.get(path, account=bob).status_code == 404


def test_after_the_edit_window_the_sender_can_no_longer_edit_but_the_recipient_deletes(
    own_server,
):
    live = own_server(NOTIFICATION_EDIT_WINDOW=0.0)
    api = Api(live.url)
    alice, bob = api.register("alice"), api.register("bob")
    created = api.notify(alice, bob, "final")
    path = f"/api/notifications/{created['id']}"
    late = api.request("PATCH", path, account=alice, json={"message": "too late"})
    assert late.status_code == 403 and "edited or retracted" in late.json()["message"]
    assert api.delete(path, account=alice).status_code == 403
    assert api.get(path, account=bob).json()["message"] == "final"
    assert api.delete(path, account=bob).status_code == 204


def test_a_change_made_while_the_broker_refuses_is_delivered_once_it_takes_them_again(
    own_server, monkeypatch, sockets
):
    live = own_server()
    api = Api(live.url)
    alice, bob = api.register("alice"), api.register("bob")
    socket_ = sockets(live.url, bob)
    ready(socket_)
    created = api.notify(alice, bob)
    assert socket_.receive_type("notification", timeout=5) is not None

    broker, refusals = live.node.broker, []
    publish_many = broker.publish_many

    def refuse(messages):
        refusals.append(len(messages))
        raise BrokerUnavailable("broker is down (test)")

    monkeypatch.setattr(broker, "publish_many", refuse)
    marked = api.put(f"/api/notifications/{created['id']}", account=bob, json={})
    assert marked.status_code == 200, "the change is accepted while the broker is away"
    assert wait_until(lambda: len(refusals) >= 2, 10), "the relay never retried"
    assert socket_.drain(0.5) == []

    monkeypatch.setattr(broker, "publish_many", publish_many)
    frame = next_state_frame(socket_, timeout=10)
    assert frame["type"] == "notification.updated" and frame["data"]["read"] is True
    assert frame["inbox"]["unreadCount"] == 0
    assert socket_.drain(0.5) == [], "published twice"
