"""WebSocket delivery against a running Herald, through a real WebSocket client."""

from datetime import timedelta

import pytest
import websocket
from flask_jwt_extended import create_access_token

from tests.support.clients import Socket, presence_of, wait_until


def ready(socket):
    frame = socket.receive_type("ready", timeout=5)
    assert frame is not None, "the server never said the socket is ready"
    return frame


@pytest.mark.parametrize("token", [None, "", "garbage", "a.b.c"])
def test_handshake_without_a_valid_token_is_refused(server, token):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        Socket.open(server.url, token)
    assert refused.value.status_code == 401


def test_expired_and_refresh_tokens_are_refused(server, alice):
    with server.app.app_context():
        expired = create_access_token(identity=alice.id, expires_delta=timedelta(seconds=-1))
    for token in (expired, alice.refresh_token):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            Socket.open(server.url, token)
        assert refused.value.status_code == 401


def test_notification_reaches_every_socket_of_the_recipient_only(server, api, alice, bob, sockets):
    tab1 = sockets(server.url, bob)
    tab2 = sockets(server.url, bob, header_auth=True)
    bystander = sockets(server.url, alice)
    for socket in (tab1, tab2, bystander):
        ready(socket)

    created = api.notify(alice, bob, "ping over the wire", data={"k": "v"})

    for socket in (tab1, tab2):
        frame = socket.receive_type("notification", timeout=1.0)
        assert frame == {"type": "notification", "data": created}
    assert bystander.drain(0.5) == []


def test_reconnect_with_since_gets_what_was_missed_in_order_once(server, api, alice, bob, sockets):
    first = sockets(server.url, bob)
    ready(first)
    seen = api.notify(alice, bob, "seen")
    assert first.receive_type("notification", timeout=1.0)["data"]["id"] == seen["id"]
    first.close()

    missed = [api.notify(alice, bob, f"missed {i}")["id"] for i in range(3)]
    again = sockets(server.url, bob, since=seen["id"])
    # Published ones come in the backlog before `ready`; any still in the outbox
    # follow live, in the same order: either way each once, oldest first.
    received, kinds = [], []
    while len(received) < len(missed) and (frame := again.receive(5.0)) is not None:
        kinds.append(frame["type"])
        if frame["type"] == "notification":
            received.append(frame["data"]["id"])
    assert received == missed
    assert "ready" in kinds or again.receive_type("ready", timeout=5) is not None

    live = api.notify(alice, bob, "live")
    assert again.receive_type("notification", timeout=1.0)["data"]["id"] == live["id"]
    assert again.drain(0.5) == []


def test_a_bad_since_gets_an_error_frame(server, bob, sockets):
    socket = sockets(server.url, bob, since="not-an-id")
    assert socket.receive_type("error")["error"]["code"] == 422


def test_mark_read_over_the_socket_is_seen_by_rest(server, api, alice, bob, sockets):
    socket = sockets(server.url, bob)
    ready(socket)
    notification = api.notify(alice, bob)
    socket.receive_type("notification", timeout=1.0)
    socket.send({"type": "read", "id": notification["id"]})
    reply = socket.receive_type("read")
    assert reply["data"]["id"] == notification["id"] and reply["data"]["read"] is True
    stored = api.get(f"/api/notifications/{notification['id']}", account=bob).json()
    assert stored["read"] is True and stored["readAt"] == reply["data"]["readAt"]


def test_marking_someone_elses_notification_over_the_socket_fails(server, api, alice, bob, sockets):
    notification = api.notify(bob, alice)
    socket = sockets(server.url, bob)
    ready(socket)
    socket.send({"type": "read", "id": notification["id"]})
    assert socket.receive_type("error")["error"]["code"] == 404
    assert (
        api.get(f"/api/notifications/{notification['id']}", account=alice).json()["read"] is False
    )


@pytest.mark.parametrize("payload", ['{"type": "dance"}', "not json", "[1]", '{"type": "read"}'])
def test_unknown_client_frames_get_an_error_and_keep_the_socket(server, bob, sockets, payload):
    socket = sockets(server.url, bob)
    ready(socket)
    socket.ws.send(payload)
    assert socket.receive_type("error")["error"]["code"] == 400
    socket.send({"type": "ping"})
    assert socket.receive_type("pong") is not None


def test_connected_follows_the_sockets_across_tabs(server, api, bob, sockets):
    def connected():
        return api.get("/api/users/me", account=bob).json()["connected"]

    assert connected() is False
    tab1, tab2 = sockets(server.url, bob), sockets(server.url, bob)
    ready(tab1), ready(tab2)
    assert wait_until(connected, timeout=5)
    tab1.close()
    assert wait_until(lambda: server.node.hub.socket_count() <= 1, timeout=5)
    assert connected() is True
    tab2.close()
    assert wait_until(lambda: not connected(), timeout=5)


def test_presence_watchers_see_users_come_and_go(server, api, alice, bob, sockets):
    watcher = sockets(server.url, alice)
    ready(watcher)
    watcher.send({"type": "presence.watch"})
    assert watcher.receive_type("presence.watching") is not None

    tab = sockets(server.url, bob)
    ready(tab)
    online = presence_of(watcher, bob)
    assert online == {"userId": bob.id, "username": bob.username, "connected": True}
    tab.close()
    offline = presence_of(watcher, bob)
    assert offline == {"userId": bob.id, "username": bob.username, "connected": False}


def test_sockets_that_do_not_watch_get_no_presence_frames(server, api, alice, bob, sockets):
    quiet = sockets(server.url, alice)
    ready(quiet)
    ready(sockets(server.url, bob))
    assert [f for f in quiet.drain(1.0) if f["type"] == "presence"] == []
