"""Frames made once and written without waiting (app/realtime/wire.py), against real sockets."""

import json
import socket
import time
import zlib

import pytest
import websocket
from wsproto.frame_protocol import FrameProtocol

from app.realtime import wire
from tests.support.clients import Api, wait_until
from tests.support.frames import handshake
from tests.support.processes import HeraldProcess, herald_env
from tests.support.servers import LiveServer


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_a_frame_is_the_bytes_wsproto_would_write(size):
    text = "é" * (size // 2) + "x" * (size % 2)  # two bytes a character: lengths in bytes count
    made = wire.Frame(text.encode())
    assert made.data == FrameProtocol(client=False, extensions=[]).send_data(text, fin=True)
    assert made.text == text


def test_a_slow_reader_gets_every_frame_whole_and_in_order_between_pongs(server):
    """Frames larger than the socket buffers go out in parts (`send_now` leaves the rest
    to a writer) while the socket's reader answers the client's pings on the same
    connection: no byte of one frame may land inside another."""
    api = Api(server.url)
    bob = api.register("bob")
    hub = server.node.hub
    url = server.url.replace("http://", "ws://") + f"/ws?token={bob.access_token}"
    small_buffer = ((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),)
    ws = websocket.create_connection(url, timeout=10, sockopt=small_buffer)
    assert json.loads(ws.recv())["type"] == "ready"
    assert wait_until(lambda: len(hub.sessions_of(bob.id)) == 1, 5)

    count, blob = 40, "x" * 100_000
    for n in range(count):
        payload = json.dumps({"type": "notification", "data": {"n": n, "blob": blob}})
        hub.deliver(bob.id, f"00000000-0000-7000-8000-{n:012d}", wire.Frame(payload.encode()))

    received, pongs = [], []
    deadline = time.monotonic() + 60
    while len(received) < count and time.monotonic() < deadline:
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_PONG:
            pongs.append(frame.data.decode())
        elif opcode == websocket.ABNF.OPCODE_TEXT:
            message = json.loads(frame.data)
            assert message["data"]["blob"] == blob
            received.append(message["data"]["n"])
            ws.ping(str(len(received)))  # answered while the server is mid-frame
            time.sleep(0.01)  # a slow reader: the server's writes wait on its buffer
    assert received == list(range(count))
    assert pongs and pongs == sorted(pongs, key=int), "no pong came between the frames"
    assert int(pongs[0]) < count, "the pongs all came after the frames; nothing was shown"
    ws.close()


def test_a_client_that_negotiates_compression_gets_compressed_frames(make_config, sockets):
    """With WS_PERMESSAGE_DEFLATE on, frames go through wsproto's compressor per socket."""
    live = LiveServer(make_config(WS_PERMESSAGE_DEFLATE=True))
    try:
        api = Api(live.url)
        alice, bob = api.register("alice"), api.register("bob")
        compressed = CompressingClient(live.url, bob.access_token)
        plain = sockets(live.url, bob)  # offers nothing: frames as made
        assert plain.receive_type("ready") is not None
        assert compressed.next_message()["type"] == "ready"
        assert sorted(s.passes_frames for s in live.node.hub.sessions_of(bob.id)) == [
            False,
            True,
        ]

        sent = [api.notify(alice, bob, f"squeezed {n} " + "abc" * 200) for n in range(3)]
        for notification in sent:
            message = compressed.next_message()
            assert message["type"] == "notification"
            assert message["data"]["id"] == notification["id"]
            assert message["data"]["message"] == notification["message"]
            assert plain.receive_type("notification")["data"]["id"] == notification["id"]
        assert compressed.compressed_frames >= 3
        compressed.close()
    finally:
        live.stop()


@pytest.mark.slow
def test_under_gunicorn_a_compressing_client_gets_compressed_frames(mongodb_uri, sockets):
    """The permessage-deflate path in the gevent worker, beside a plain socket."""
    with HeraldProcess(herald_env(mongodb_uri, WS_PERMESSAGE_DEFLATE="true")).start() as herald:
        api = Api(herald.url)
        alice, bob = api.register("alice"), api.register("bob")
        compressed = CompressingClient(herald.url, bob.access_token)
        plain = sockets(herald.url, bob)
        assert compressed.next_message()["type"] == "ready"
        assert plain.receive_type("ready") is not None

        sent = [api.notify(alice, bob, f"squeezed {n} " + "abc" * 200) for n in range(3)]
        for notification in sent:
            message = compressed.next_message()
            assert (message["type"], message["data"]) == ("notification", notification)
            assert plain.receive_type("notification")["data"] == notification
        assert compressed.compressed_frames >= 3
        compressed.close()


class CompressingClient:
    """A client that offers permessage-deflate (RFC 7692) and inflates what it gets.

    websocket-client cannot negotiate compression, so this one speaks the few
    frames the test needs over a plain socket: unfragmented text frames, with
    the server's compression context kept between messages.
    """

    def __init__(self, base_url, token):
        self.conn, head, self.frames = handshake(
            base_url, token, extensions="permessage-deflate", timeout=10
        )
        assert "permessage-deflate" in head.lower(), "the server did not accept compression"
        self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        self.compressed_frames = 0

    def next_message(self):
        """The next text message as a dict (control frames are skipped)."""
        while True:
            frame = self.frames.frame()
            if frame.opcode != 0x1:
                continue
            assert frame.final, "a fragmented message"
            payload = frame.payload
            if frame.compressed:
                self.compressed_frames += 1
                payload = self.inflater.decompress(payload + b"\x00\x00\xff\xff")
            return json.loads(payload)

    def close(self):
        self.conn.close()
