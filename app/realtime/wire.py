"""A socket wrapper that makes every WebSocket write whole and one at a time.

simple-websocket writes with `socket.send`, which may write only part of a
frame when the peer reads slowly, and it writes pings from its own thread
while Herald's writer sends frames: either way, bytes of two frames can
interleave and the client sees a corrupt stream. Each write here is a
`sendall` under a lock.
"""

import threading


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
