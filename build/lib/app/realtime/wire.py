"""What Herald needs of a simple-websocket connection beyond its public API.

Frames made once. A notification goes to every socket of its user and a
presence change to every watcher, so a `Frame` carries its bytes on the wire,
built once (RFC 6455 §5.2: a server's text frames are unmasked), and the hub
writes those bytes as they are to every connection that negotiated no
extension. simple-websocket would run each frame through wsproto again for each
socket; only a connection with permessage-deflate (opt-in,
`WS_PERMESSAGE_DEFLATE`) still needs that, since its bytes differ per socket.

Writes that never interleave. simple-websocket writes with `socket.send`, which
may write only part of a frame when the peer reads slowly, while Herald's
writer, the reader's pong replies and a close come from different greenlets:
bytes of two frames could interleave and the client would see a corrupt
stream. `serialize_writes` puts a `SerializedSocket` under the connection, which
writes each frame whole under a lock. Its `send_now` writes without ever
waiting, so the hub can hand a frame to the kernel from the delivering
greenlet; what the kernel did not take stays in the `SerializedSocket` and goes
out before any other write (`flush`).

Pings. Herald pings from the hub, one loop for every socket, rather than letting
simple-websocket do it: its pinger waits on a selector of its own per socket,
a few KB each (see docs/BENCHMARKS.md). `PING_FRAME`, `ping_sent` and
`pong_received` are the pieces of simple-websocket's ping logic the hub's loop
uses, and `cut` ends a connection whose client no longer reads or answers.
"""

import contextlib
import socket
import struct
import threading

from wsproto.events import TextMessage

_TEXT, _PING = 0x1, 0x9
_FIN = 0x80
# The flag (Linux, the BSDs) for one send that never waits, whatever the socket's mode.
_DONT_WAIT = getattr(socket, "MSG_DONTWAIT", None)


def _frame(opcode, payload):
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", _FIN | opcode, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", _FIN | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", _FIN | opcode, 127, size)
    return header + payload


PING_FRAME = _frame(_PING, b"")


class Frame:
    """One text message for any number of sockets: its UTF-8 payload and its frame on the wire."""

    __slots__ = ("data", "payload")

    def __init__(self, payload):
        self.payload = payload  # bytes, valid UTF-8
        self.data = _frame(_TEXT, payload)

    @property
    def text(self):
        return self.payload.decode()


def passes_frames_through(ws):
    """Whether `Frame.data` can be written to `ws` as it is: no extension rewrites its frames.

    Reads wsproto's negotiated extensions; if wsproto ever keeps them elsewhere,
    the answer is False and frames go through wsproto, which is only slower.
    """
    protocol = getattr(ws.ws.connection, "_proto", None)  # wsproto's FrameProtocol
    return getattr(protocol, "extensions", None) == []  # only the negotiated ones are listed


def encoded(ws, frame):
    """`frame` as `ws`'s wsproto connection writes it (compressed, if negotiated)."""
    return ws.ws.send(TextMessage(data=frame.text))


class SerializedSocket:
    """Wraps a connected socket: every write goes out whole, never interleaved with another."""

    __slots__ = ("_lock", "_os_socket", "_sock", "unsent")

    def __init__(self, sock):
        self._sock = sock
        self._lock = threading.Lock()
        self._os_socket = _os_socket(sock)
        self.unsent = b""  # the part of a `send_now` the kernel did not take

    def send(self, data):
        with self._lock:
            if self.unsent:
                self._write_unsent()
            self._sock.sendall(data)
        return len(data)

    def send_now(self, data):
        """Hand `data` to the kernel without waiting; False when nothing could be written.

        True means it is written, or its beginning is and the rest waits in
        `unsent` for `flush` (or the next `send`), ahead of anything else. False:
        another write is under way, the kernel's buffer is full, or this socket
        cannot be written to directly (TLS); write it with `send` instead.
        """
        if self._os_socket is None or self.unsent or not self._lock.acquire(blocking=False):
            return False
        try:
            written = self._os_socket.send(data, _DONT_WAIT)
            if written < len(data):
                self.unsent = data[written:]
        except BlockingIOError:
            return False
        finally:
            self._lock.release()
        return True

    def flush(self):
        """Write what `send_now` left over, waiting as long as that takes."""
        if self.unsent:
            with self._lock:
                self._write_unsent()

    def _write_unsent(self):
        unsent, self.unsent = self.unsent, b""
        self._sock.sendall(unsent)

    def __getattr__(self, name):  # recv, close, fileno, ... as the socket has them
        return getattr(self._sock, name)


def _os_socket(sock):
    """The OS-level socket under `sock` to write to without waiting, or None if there is none."""
    if _DONT_WAIT is None or hasattr(sock, "cipher"):  # TLS bytes must go through its wrapper
        return None
    return getattr(sock, "_sock", sock)  # gevent keeps the OS socket in `_sock`


def serialize_writes(ws):
    """Make `ws` (a simple-websocket connection) write through a SerializedSocket."""
    if not isinstance(ws.sock, SerializedSocket):
        ws.sock = SerializedSocket(ws.sock)
    return ws


def ping_sent(ws):
    """Note that a ping is going out to `ws`'s peer; its pong sets `pong_received`."""
    ws.pong_received = False


def pong_received(ws):
    """Whether the peer answered the last ping (True before the first one)."""
    return ws.pong_received


def cut(ws):
    """End the connection under `ws` at once, for a client that stopped reading or answering.

    A write blocked on it fails, and the handler wakes as on a lost connection.
    """
    with contextlib.suppress(OSError):
        ws.sock.shutdown(socket.SHUT_RDWR)
