"""Canaries: the private attributes of libraries that Herald relies on, one test each.

Herald reaches past the public API of a few libraries (for speed or memory; the
module that does says why). An upgrade that moves one of these attributes would
otherwise fail quietly or only under load; here it fails loudly, naming it.
"""

import _socket
import inspect
import socket
import threading

import flask
import gevent.socket as gevent_socket  # a dependency of Herald's, never optional
import mongoengine as me
import pytest
import simple_websocket
from flask_jwt_extended import JWTManager, create_access_token, verify_jwt_in_request
from wsproto import ConnectionType, WSConnection
from wsproto.events import Ping, Pong, Request, TextMessage
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import FrameProtocol

from app.auth import tokens
from app.realtime import wire

WAIT = 5.0


def wait_until(predicate):
    """Poll `predicate` (a library's own attribute, nothing to wait on) for up to WAIT."""
    event = threading.Event()
    for _ in range(int(WAIT / 0.01)):
        if predicate():
            return True
        event.wait(0.01)
    return predicate()


@pytest.fixture
def websocket_pair():
    """(server, client socket, client wsproto) after a real handshake over a socketpair."""
    made = []

    def make(extensions=()):
        server_end, client_end = socket.socketpair()
        client_end.settimeout(WAIT)
        # The client's real handshake request, handed to the server as a WSGI environ.
        client = WSConnection(ConnectionType.CLIENT)
        request = client.send(Request(host="herald.test", target="/", extensions=extensions))
        environ = {"werkzeug.socket": server_end}
        for line in request.decode().split("\r\n")[1:]:
            if line:
                name, value = line.split(":", 1)
                environ["HTTP_" + name.upper().replace("-", "_")] = value.strip()
        # The server writes its 101 answer to the socketpair; the client reads it.
        server = simple_websocket.Server(environ, ping_interval=None)
        client.receive_data(client_end.recv(65536))
        assert [type(event).__name__ for event in client.events()] == ["AcceptConnection"]
        made.append((server, client_end))
        return server, client_end, client

    yield make
    for server, client_end in made:
        client_end.close()  # the server's reader thread sees EOF and closes its end
        server.thread.join(WAIT)


def client_events(client_end, client):
    client.receive_data(client_end.recv(65536))
    return list(client.events())


def test_simple_websocket_keeps_its_socket_in_sock(websocket_pair):
    server, _, _ = websocket_pair()
    assert isinstance(server.sock, socket.socket)
    wire.serialize_writes(server)  # Herald swaps it for a SerializedSocket
    assert isinstance(server.sock, wire.SerializedSocket)


def test_simple_websocket_says_whether_it_is_connected_in_connected(websocket_pair):
    server, client_end, _ = websocket_pair()
    assert server.connected is True
    client_end.close()
    assert wait_until(lambda: server.connected is False)


def test_simple_websocket_notes_a_pong_in_pong_received(websocket_pair):
    server, client_end, client = websocket_pair()
    assert server.pong_received is True, "True before the first ping"
    wire.ping_sent(server)
    assert server.pong_received is False
    client_end.sendall(client.send(Pong()))
    assert wait_until(lambda: wire.pong_received(server))


def test_simple_websocket_keeps_its_wsproto_connection_in_ws(websocket_pair):
    server, _, client = websocket_pair()
    assert isinstance(server.ws, WSConnection)
    # Herald's fallback path (a negotiated extension) encodes frames with it.
    client.receive_data(wire.encoded(server, wire.Frame(b'{"type":"pong"}')))
    assert list(client.events()) == [TextMessage(data='{"type":"pong"}')]


def test_wsproto_lists_the_negotiated_extensions_in_connection_proto(websocket_pair):
    server, client_end, client = websocket_pair()
    assert isinstance(server.ws.connection._proto, FrameProtocol)
    assert server.ws.connection._proto.extensions == []
    assert wire.passes_frames_through(server)
    # Herald's own frame bytes, written past wsproto, are a valid frame to a client.
    server.sock.sendall(wire.Frame(b"hello").data)
    assert client_events(client_end, client) == [TextMessage(data="hello")]
    server.sock.sendall(wire.PING_FRAME)
    assert client_events(client_end, client) == [Ping(payload=b"")]


def test_wsproto_lists_permessage_deflate_once_negotiated(websocket_pair):
    server, _, _ = websocket_pair(extensions=[PerMessageDeflate()])
    extensions = server.ws.connection._proto.extensions
    assert [extension.name for extension in extensions] == ["permessage-deflate"]
    assert not wire.passes_frames_through(server), "compressed frames must go through wsproto"


def test_flask_jwt_extended_keeps_the_request_identity_in_these_g_keys():
    app = flask.Flask(__name__)
    app.config.update(JWT_SECRET_KEY="k" * 40, JWT_TOKEN_LOCATION=["headers"])
    jwt = JWTManager(app)
    jwt.user_lookup_loader(lambda header, data: {"id": data["sub"]})
    with app.app_context():
        token = create_access_token(identity="someone")
    headers = {"Authorization": f"Bearer {token}"}
    with app.test_request_context("/", headers=headers):
        verify_jwt_in_request()
        for name in tokens._REQUEST_IDENTITY:
            assert name in flask.g, name
        assert flask.g._jwt_extended_jwt["sub"] == "someone"
        assert flask.g._jwt_extended_jwt_location == "headers"
        tokens.forget_request_identity()
        assert not [name for name in tokens._REQUEST_IDENTITY if name in flask.g]


def test_werkzeug_caches_the_parsed_query_string_in_the_request_dict():
    app = flask.Flask(__name__)
    with app.test_request_context("/ws?token=secret"):
        request = flask.request
        assert request.args["token"] == "secret"
        assert "args" in request.__dict__
        # What realtime/routes.py `_forget_the_handshake` does: the next read re-parses.
        request.__dict__.pop("args")
        request.query_string = b""
        assert "token" not in request.args


def test_pika_blocking_channel_keeps_its_channel_in_impl():
    from pika.adapters.blocking_connection import BlockingChannel
    from pika.channel import Channel

    assert "self._impl = channel_impl" in inspect.getsource(BlockingChannel.__init__)
    # What app/brokers/rabbitmq.py calls on it: frames buffered, no wait.
    for method in ("basic_ack", "basic_nack", "basic_publish"):
        assert callable(getattr(Channel, method)), method


def test_gevent_keeps_the_os_socket_in_sock():
    one, other = gevent_socket.socketpair()
    try:
        assert isinstance(one._sock, _socket.socket)
        assert wire._os_socket(one) is one._sock
        serialized = wire.SerializedSocket(one)
        assert serialized.send_now(b"x") is True, "written without waiting on gevent's hub"
        assert other.recv(1) == b"x"
    finally:
        one.close()
        other.close()


def test_mongoengine_builds_a_document_from_a_raw_one_with_from_son():
    class Canary(me.Document):
        name = me.StringField()
        meta = {"collection": "library_canary"}  # never saved: no database is involved

    document = Canary._from_son({"_id": "an-id", "name": "canary"})
    assert isinstance(document, Canary)
    assert (document.id, document.name) == ("an-id", "canary")
