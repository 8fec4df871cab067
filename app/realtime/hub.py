"""Which sockets this instance holds, per user, and how frames reach them.

Delivery never blocks on a socket. A frame for a socket with nothing waiting
is handed to the kernel at once if it takes it without waiting (most of the
time: a client that reads keeps its buffer free), so delivering costs no
greenlet. Otherwise it is queued on the socket's session and written by a
short-lived writer (a greenlet under gevent) that exists only while the queue
is non-empty and writes what waits together, so an idle socket costs no
greenlet. A socket whose queue overflows is closed; its client reconnects with
`since` and gets what it missed from the database. Pings travel the same way
(`ping_all`, from one loop for every socket), and a socket whose client did not
answer the last one is closed.
"""

import contextlib
import logging
import threading
import time
from collections import deque

from app import metrics
from app.concurrency import spawn
from app.realtime import wire

logger = logging.getLogger(__name__)

CLOSE_POLICY_VIOLATION = 1008
CLOSE_TRY_AGAIN_LATER = 1013
RECENT_IDS_PER_USER = 128
PING = object()  # queued like a frame: the writer sends a ping in its turn
# A client has this long to answer a close frame (one that stopped reading never
# will, and its writer may be stuck on a full buffer) before the connection is cut.
CLOSE_TIMEOUT = 5.0
# What a writer joins into one write when frames wait (at least one frame).
WRITE_BATCH_BYTES = 64 * 1024


class SocketSession:
    """One open WebSocket of one user."""

    __slots__ = (
        "claims",
        "closed",
        "floor",
        "joined",
        "lock",
        "max_queue",
        "passes_frames",
        "paused",
        "queue",
        "skip",
        "user_id",
        "writing",
        "ws",
    )

    def __init__(self, ws, user_id, *, max_queue, claims=None):
        self.ws, self.user_id, self.max_queue = ws, user_id, max_queue
        self.claims = claims or {}  # of the token that authenticated the socket (jti, exp, ver)
        self.passes_frames = wire.passes_frames_through(ws)  # else each frame goes via wsproto
        self.queue = None  # a deque while frames wait or a writer runs (an idle socket keeps none)
        self.lock = threading.Lock()
        self.writing = False
        self.paused = True  # until its handler sends what comes first (`resume`)
        self.closed = False
        self.skip = ()  # ids this socket got from its backlog, not to be sent again live
        self.floor = ""  # the client's `since`: it has everything up to there
        self.joined = 0  # its place among the user's sockets here, in order of attaching

    def push(self, frame: "wire.Frame | object", notification_id: str | None = None) -> None:
        """Write a `wire.Frame` (or PING) now if the socket takes it at once, else queue it.

        Never blocks.
        """
        with self.lock:
            if self.closed or self._already_sent(notification_id):
                return
            if self.queue is None:  # nothing waits and no writer runs
                if not self.paused and self._write_now(frame):
                    return
                self.queue = deque()
            elif len(self.queue) >= self.max_queue:
                self._overflow()
                return
            self.queue.append((notification_id, frame))
            start = self._claim_writer()
        if start:
            spawn(self._drain, name="herald-ws-writer")

    def _already_sent(self, notification_id):
        return notification_id is not None and (
            notification_id <= self.floor or notification_id in self.skip
        )

    def _write_now(self, frame):
        """With the lock held and no writer: True once `frame` is dealt with, False to queue it."""
        if not self.passes_frames:
            return False  # wsproto's compressor must see frames in order: the writer's job
        if not self.ws.connected:  # closing or closed; the handler cleans up
            self._mark_closed()
            return True
        sock = self.ws.sock
        try:
            if not sock.send_now(wire.PING_FRAME if frame is PING else frame.data):
                return False
        except OSError:  # the socket died; its handler cleans up
            self._mark_closed()
            return True
        if frame is PING:
            wire.ping_sent(self.ws)
        if sock.unsent:  # the kernel took part of it: a writer sends the rest
            self.queue, self.writing = deque(), True
            spawn(self._drain, name="herald-ws-writer")
        return True

    def resume(self, backlog: list[tuple[str | None, wire.Frame]]) -> None:
        """Send `backlog` (id, frame) pairs first, then what queued meanwhile, minus repeats.

        Called by the socket's own handler, which writes them itself: a writer
        of their own would cost every new socket a greenlet.
        """
        sent = frozenset(notification_id for notification_id, _ in backlog)
        with self.lock:
            self.skip = sent
            live = [item for item in self.queue or () if item[0] is None or item[0] not in sent]
            self.queue = deque(backlog + live)
            self.paused = False
            start = self._claim_writer()
        if start:
            self._drain()

    def _claim_writer(self):
        if self.writing or self.paused or not self.queue:
            return False
        self.writing = True
        return True

    def _drain(self):
        sock = self.ws.sock
        while True:
            with self.lock:
                if self.closed or not (self.queue or sock.unsent):
                    self.writing, self.queue = False, None
                    return
                try:
                    data = self._take_waiting()
                except Exception:  # closed meanwhile (wsproto refuses to encode)
                    self._mark_closed()
                    self.writing = False
                    return
            try:
                if data:
                    sock.send(data)
                else:
                    sock.flush()
            except Exception:  # the socket died; its handler cleans up
                with self.lock:
                    self._mark_closed()
                    self.writing = False
                return

    def _take_waiting(self):
        """Pop waiting frames, up to WRITE_BATCH_BYTES, as the bytes to write (lock held)."""
        if not self.ws.connected:
            raise ConnectionError("the socket is closing")
        chunks, size = [], 0
        while self.queue and (not chunks or size < WRITE_BATCH_BYTES):
            _, frame = self.queue.popleft()
            if frame is PING:
                wire.ping_sent(self.ws)
                chunk = wire.PING_FRAME
            else:
                chunk = frame.data if self.passes_frames else wire.encoded(self.ws, frame)
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)

    def ping(self):
        """Ping the client; if it never answered the last ping, close the socket instead."""
        if self.closed:  # closing already; cut within CLOSE_TIMEOUT if its client is gone
            return True
        if not wire.pong_received(self.ws):
            self.close(CLOSE_POLICY_VIOLATION, "Ping/Pong timeout")
            return False
        self.push(PING)
        return True

    def _overflow(self):
        # Called with the lock held, so it must not wait on the socket.
        logger.warning("Closing a socket of user %s: it cannot keep up", self.user_id)
        metrics.socket_overflowed(len(self.queue) + 1)
        self._mark_closed()
        spawn(self._close_now, CLOSE_TRY_AGAIN_LATER, "Too slow; reconnect with since")

    def close(self, code: int, message: str) -> None:
        """Close the socket with `code`, in the background (never blocks the caller)."""
        with self.lock:
            self._mark_closed()
        spawn(self._close_now, code, message, name="herald-ws-close")

    def _mark_closed(self):
        self.closed, self.queue = True, None

    def _close_now(self, code, message):
        spawn(self._cut_later, name="herald-ws-cut")
        with contextlib.suppress(Exception):
            self.ws.close(reason=code, message=message)

    def _cut_later(self):
        time.sleep(CLOSE_TIMEOUT)
        wire.cut(self.ws)  # a no-op once the client answered and the socket is gone


class _UserSockets:
    __slots__ = ("joined", "recent", "recent_order", "sessions")

    def __init__(self):
        self.sessions = set()
        self.joined = 0  # sockets attached so far
        self.recent = {}  # id delivered lately -> `joined` when it was
        self.recent_order = deque()

    def add(self, session):
        self.joined += 1
        session.joined = self.joined
        self.sessions.add(session)

    def receivers(self, notification_id):
        """The sockets to give `notification_id`: all, or on a repeat only the newer ones.

        Brokers deliver at least once, so an id can come again (a publisher that
        died before deleting its outbox entry publishes it twice). Sockets that
        had it the first time skip it; one attached since then may not have it
        (its resume left it out while it was still in the outbox) and gets it.
        """
        delivered_at = self.recent.get(notification_id)
        self.recent[notification_id] = self.joined
        if delivered_at is not None:
            return [s for s in self.sessions if s.joined > delivered_at]
        self.recent_order.append(notification_id)
        if len(self.recent_order) > RECENT_IDS_PER_USER:
            self.recent.pop(self.recent_order.popleft(), None)
        return list(self.sessions)


class SocketHub:
    """user id -> open sockets on this instance: the API the rest of realtime uses."""

    def __init__(self) -> None:
        self._users = {}
        self._presence_watchers = set()
        self._lock = threading.Lock()

    def attach(self, session: SocketSession) -> bool:
        """Add a socket; True when it is the user's first on this instance."""
        with self._lock:
            user = self._users.get(session.user_id)
            first = user is None
            if first:
                user = self._users[session.user_id] = _UserSockets()
            user.add(session)
        metrics.socket_attached(first)
        return first

    def detach(self, session: SocketSession) -> bool:
        """Remove a socket; True when it was the user's last on this instance."""
        with self._lock:
            self._presence_watchers.discard(session)
            user = self._users.get(session.user_id)
            if user is None:
                return False
            user.sessions.discard(session)
            metrics.socket_detached(not user.sessions)
            if user.sessions:
                return False
            del self._users[session.user_id]
            return True

    def deliver(self, user_id: str, notification_id: str, frame: wire.Frame) -> int:
        """Hand a notification frame to each of the user's sockets, once per id."""
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                return 0
            sessions = user.receivers(notification_id)
        for session in sessions:
            session.push(frame, notification_id)
        metrics.delivered(notification_id, len(sessions), time.time())
        logger.debug("Notification %s handed to %d socket(s)", notification_id, len(sessions))
        return len(sessions)

    def send_to_user(self, user_id: str, frame: wire.Frame) -> int:
        """Hand a frame to each of the user's sockets (no repeat check: it has no id)."""
        sessions = self.sessions_of(user_id)
        for session in sessions:
            session.push(frame)
        return len(sessions)

    def watch_presence(self, session: SocketSession) -> None:
        """Send `session` every presence change from now on."""
        with self._lock:
            self._presence_watchers.add(session)

    def broadcast_presence(self, frame: wire.Frame) -> int:
        with self._lock:
            watchers = list(self._presence_watchers)
        for session in watchers:
            session.push(frame)
        return len(watchers)

    def sessions_of(self, user_id: str) -> list[SocketSession]:
        with self._lock:
            user = self._users.get(user_id)
            return list(user.sessions) if user else []

    def _all_sessions(self):
        with self._lock:
            return [s for user in self._users.values() for s in user.sessions]

    def ping_all(self) -> int:
        """Ping every socket, closing those that missed the last ping; returns how many closed."""
        sessions = self._all_sessions()
        return sum(1 for session in sessions if not session.ping())

    def close_all(self, code: int, message: str) -> int:
        """Close every socket (a shutdown); returns how many."""
        sessions = self._all_sessions()
        for session in sessions:
            session.close(code, message)
        return len(sessions)

    def close_expired(self, now: float) -> int:
        """Close (1008) every socket whose token expired before `now`; returns how many."""
        sessions = self._all_sessions()
        expired = [s for s in sessions if s.claims.get("exp", now + 1) <= now]
        for session in expired:
            session.close(CLOSE_POLICY_VIOLATION, "Token expired; reconnect with a fresh token")
        return len(expired)

    def user_ids(self) -> list[str]:
        with self._lock:
            return list(self._users)

    def socket_count(self) -> int:
        with self._lock:
            return sum(len(user.sessions) for user in self._users.values())
