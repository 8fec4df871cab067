"""WebSocket below websocket-client: a hand-made handshake and a reader of server frames.

Some tests need what a full client hides: the RSV bits of a compressed frame,
a socket that never answers pings, the exact bytes the hub wrote into a
socketpair. They read frames with `FrameReader` (RFC 6455 §5.2; server frames
are never masked) and open connections with `handshake`.
"""

import base64
import os
import select
import socket
from typing import NamedTuple


class Frame(NamedTuple):
    opcode: int
    payload: bytes
    final: bool
    compressed: bool  # RSV1, set by permessage-deflate (RFC 7692 §6.2)


class FrameReader:
    """Reads whole server frames off a connected socket, bytes already read first."""

    def __init__(self, sock, buffered=b""):
        self.sock = sock
        self.buffer = buffered

    def read_exactly(self, size):
        while len(self.buffer) < size:
            chunk = self.sock.recv(65536)
            assert chunk, "the server end closed the connection"
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def frame(self):
        first, second = self.read_exactly(2)
        assert not second & 0x80, "a server frame must not be masked"
        size = second & 0x7F
        if size == 126:
            size = int.from_bytes(self.read_exactly(2))
        elif size == 127:
            size = int.from_bytes(self.read_exactly(8))
        return Frame(
            opcode=first & 0x0F,
            payload=self.read_exactly(size),
            final=bool(first & 0x80),
            compressed=bool(first & 0x40),
        )

    def nothing_waiting(self):
        """True when no byte has arrived that was not read yet."""
        if self.buffer:
            return False
        readable, _, _ = select.select([self.sock], [], [], 0)
        return not readable


def handshake(base_url, token, *, extensions=None, timeout=None):
    """Open `/ws` of `base_url` by hand: (connection, response head, a reader of its frames).

    Asserts the 101; `extensions` goes in `Sec-WebSocket-Extensions`.
    """
    host, port = base_url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    offer = f"Sec-WebSocket-Extensions: {extensions}\r\n" if extensions else ""
    conn.sendall(
        (
            f"GET /ws?token={token} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n{offer}\r\n"
        ).encode()
    )
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = conn.recv(4096)
        assert chunk, "the server closed the connection during the handshake"
        received += chunk
    head, rest = received.split(b"\r\n\r\n", 1)
    assert b" 101 " in head.split(b"\r\n", 1)[0] + b" ", head
    return conn, head.decode("latin-1"), FrameReader(conn, rest)
