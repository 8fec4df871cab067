"""What Herald needs of a simple-websocket connection beyond its public API.

simple-websocket writes with `socket.send`, which may write only part of a
frame when the peer reads slowly, while Herald's writer and its pinger write
from other greenlets: bytes of two frames could interleave and the client
would see a corrupt stream. `serialize_writes` makes each write a `sendall`
under a lock.

Herald pings from the hub, one loop for every socket, rather than letting
simple-websocket do it: its pinger waits on a selector of its own per socket,
a few KB each (see docs/BENCHMARKS.md). `send_ping` and `pong_received` are the
two pieces of simple-websocket's ping logic the hub's loop uses, and `cut` ends a
connection whose client no longer reads or answers.
"""

import contextlib
import socket
import threading

from wsproto.events import Ping


class SerializedSocket:
    """Wraps a connected socket: `send` writes everything, never interleaved."""

    __slots__ = ("_lock", "_sock")

    def __init__(self, sock):
        self._sock = sock
        self._lock = threading.Lock()

    def send(self, data):
        with self._lock:
            self._sock.sendall(data)
        return len(data)

    def __getattr__(self, name):  # recv, close, fileno, ... as the socket has them
        return getattr(self._sock, name)


def serialize_writes(ws):
    """Make `ws` (a simple-websocket connection) write through a SerializedSocket."""
    if not isinstance(ws.sock, SerializedSocket):
        ws.sock = SerializedSocket(ws.sock)
    return ws


def send_ping(ws):
    """Send `ws`'s peer a ping frame; its pong sets `pong_received`."""
    ws.pong_received = False
    ws.sock.send(ws.ws.send(Ping()))


def pong_received(ws):
    """Whether the peer answered the last ping (True before the first one)."""
    return ws.pong_received


def cut(ws):
    """End the connection under `ws` at once, for a client that stopped reading or answering.

    A write blocked on it fails, and the handler wakes as on a lost connection.
    """
    with contextlib.suppress(OSError):
        ws.sock.shutdown(socket.SHUT_RDWR)
