"""The graphql-transport-ws protocol's rules and close codes, through websocket-client."""

import contextlib

import pytest
import websocket

from tests.support.clients import Api, Socket, wait_until

PROTOCOL = "graphql-transport-ws"


@pytest.fixture
def connect(server):
    """`connect(token=None, subprotocol=True)`: a raw connection to /graphql (initialised
    with `token` when one is given)."""
    opened = []

    def open_connection(token=None, *, subprotocol=True, url=None):
        target = (url or server.url).replace("http://", "ws://") + "/graphql"
        options = {"subprotocols": [PROTOCOL]} if subprotocol else {}
        socket = Socket(websocket.create_connection(target, timeout=5, **options))
        opened.append(socket)
        if token is not None:
            socket.send({"type": "connection_init", "payload": {"token": token}})
            assert socket.receive(10) == {"type": "connection_ack"}
        return socket

    yield open_connection
    for socket in opened:
        with contextlib.suppress(Exception):
            socket.close()


def test_pings_queries_and_complete(connect, api, alice, bob):
    socket = connect(alice.access_token)
    socket.send({"type": "ping"})
    assert socket.receive(10) == {"type": "pong"}
    socket.send({"id": "q", "type": "subscribe", "payload": {"query": "{ me { id } }"}})
    assert socket.receive(10) == {
        "id": "q",
        "type": "next",
        "payload": {"data": {"me": {"id": alice.id}}},
    }
    assert socket.receive(10) == {"id": "q", "type": "complete"}
    query = "subscription { notificationAdded { message } }"
    socket.send({"id": "s", "type": "subscribe", "payload": {"query": query}})
    barrier(socket)  # the subscription is in place once the pong after it comes
    api.notify(bob, alice, "live")
    assert socket.receive(10)["payload"] == {"data": {"notificationAdded": {"message": "live"}}}
    socket.send({"id": "s", "type": "complete"})
    barrier(socket)  # the complete came first: it is gone
    api.notify(bob, alice, "after complete")
    assert socket.receive(0.5) is None


def barrier(socket):
    """Wait until the server handled what was sent before: it answers in order."""
    socket.send({"type": "ping"})
    assert socket.receive(10) == {"type": "pong"}


def test_invalid_documents_get_an_error_message(connect, alice):
    socket = connect(alice.access_token)
    socket.send({"id": "1", "type": "subscribe", "payload": {"query": "subscription { nope }"}})
    error = socket.receive(10)
    assert error["type"] == "error" and error["id"] == "1"
    assert "nope" in error["payload"][0]["message"]
    assert error["payload"][0]["extensions"]["code"] == 400
    socket.send({"id": "2", "type": "subscribe", "payload": {"query": "subscription {"}})
    assert socket.receive(10)["type"] == "error"
    bad_since = 'subscription { notificationAdded(since: "x") { id } }'
    socket.send({"id": "3", "type": "subscribe", "payload": {"query": bad_since}})
    error = socket.receive(10)
    assert error["type"] == "error" and error["payload"][0]["extensions"]["code"] == 422


@pytest.mark.parametrize(
    ("first", "then", "code"),
    [
        ({"type": "connection_init", "payload": {"token": "not-a-token"}}, None, 4403),
        ({"type": "subscribe", "id": "1", "payload": {"query": "{ me { id } }"}}, None, 4401),
        ("init", {"type": "connection_init"}, 4429),
        ("init", {"type": "no-such-type"}, 4400),
        ("init", "not json", 4400),
        ("init", {"type": "subscribe", "id": "1"}, 4400),
    ],
)
def test_protocol_violations_close_with_their_codes(connect, alice, first, then, code):
    socket = connect(alice.access_token if first == "init" else None)
    if first != "init":
        socket.send(first)
    if then is not None:
        socket.ws.send(then) if isinstance(then, str) else socket.send(then)
    assert socket.wait_closed() == code


def test_a_duplicate_subscription_id_closes_4409(connect, alice):
    socket = connect(alice.access_token)
    subscribe = {
        "id": "same",
        "type": "subscribe",
        "payload": {"query": "subscription { presenceChanged { userId } }"},
    }
    socket.send(subscribe)
    socket.send(subscribe)
    assert socket.wait_closed() == 4409


def test_no_subprotocol_or_no_init_closes(connect, own_server):
    assert connect(subprotocol=False).wait_closed() == 4406
    quick = own_server(GRAPHQL_WS_INIT_TIMEOUT=0.5)
    assert connect(url=quick.url).wait_closed() == 4408


def test_an_expired_token_ends_the_connection_4403(connect, own_server):
    quick = own_server(JWT_ACCESS_TOKEN_EXPIRES=2, WS_TOKEN_CHECK_INTERVAL=0.2)
    account = Api(quick.url).register("expiring")
    socket = connect(account.access_token, url=quick.url)
    assert socket.wait_closed(timeout=15) == 4403


def test_a_client_that_never_answers_pings_is_closed(own_server):
    quick = own_server(WS_PING_INTERVAL=0.3)
    account = Api(quick.url).register("silent")
    url = quick.url.replace("http://", "ws://") + "/graphql"
    # skip_utf8_validation and no auto-pong: websocket-client answers pings only in recv,
    # and this client reads nothing after its ack.
    socket = Socket(websocket.create_connection(url, timeout=5, subprotocols=[PROTOCOL]))
    socket.send({"type": "connection_init", "payload": {"token": account.access_token}})
    assert socket.receive(10) == {"type": "connection_ack"}
    assert wait_until(lambda: not quick.node.hub.sessions_of(account.id), timeout=15)
    socket.close()


def test_a_page_of_another_origin_gets_no_socket(server):
    url = server.url.replace("http://", "ws://") + "/graphql"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(
            url, timeout=5, subprotocols=[PROTOCOL], origin="http://evil.example"
        )
    assert refused.value.status_code == 403
