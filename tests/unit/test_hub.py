"""The socket hub (app/realtime/hub.py): which sockets get which frames, in what order.

Each session writes to a fake simple-websocket connection over a real
`socket.socketpair()`, so frames really go through the kernel; the test reads
the other end and parses the server's (unmasked) text frames.
"""

import json
import socket
import threading
from types import SimpleNamespace

import pytest

from app.ids import new_id
from app.realtime import hub as hub_module
from app.realtime import wire
from app.realtime.hub import SocketHub, SocketSession
from tests.support.frames import FrameReader

WAIT = 5.0  # bound of every wait; reached only when the hub misbehaves


class FakeConnection:
    """What SocketSession uses of a simple-websocket Server, over one end of a socketpair."""

    def __init__(self, sock):
        self.sock = sock
        self.connected = True
        self.pong_received = True
        # wsproto's negotiated extensions: none, so frames are written as they are.
        self.ws = SimpleNamespace(connection=SimpleNamespace(_proto=SimpleNamespace(extensions=[])))
        self.closed_with = None
        self.closed = threading.Event()

    def close(self, reason=None, message=None):
        self.connected = False
        self.closed_with = (reason, message)
        self.closed.set()


class Peer(FrameReader):
    """The client's end of the socketpair: reads and parses the server's frames."""

    def __init__(self, sock):
        sock.settimeout(WAIT)
        super().__init__(sock)

    def texts(self, count):
        """The payloads of the next `count` frames, which must be whole text frames, as JSON."""
        messages = []
        for _ in range(count):
            frame = self.frame()
            assert frame.opcode == 0x1 and frame.final
            messages.append(json.loads(frame.payload))
        return messages


@pytest.fixture
def open_socket():
    """Makes (session, peer) pairs; closes every socket at the end."""
    sockets = []

    def make(user_id, *, max_queue=100, claims=None, paused=False):
        server_end, client_end = socket.socketpair()
        sockets.extend((server_end, client_end))
        ws = wire.serialize_writes(FakeConnection(server_end))
        session = SocketSession(ws, user_id, max_queue=max_queue, claims=claims)
        assert session.passes_frames, "the fake negotiated no extension"
        if not paused:
            session.resume([])
        return session, Peer(client_end)

    yield make
    # Clients first: a writer still blocked on a full buffer then fails and ends.
    for sock in sockets[1::2] + sockets[::2]:
        sock.close()


def notification(notification_id, user_id):
    text = json.dumps({"type": "notification", "data": {"id": notification_id, "userId": user_id}})
    return wire.Frame(text.encode())


def big_notification(notification_id, user_id, size):
    data = {"id": notification_id, "userId": user_id, "body": "x" * size}
    return wire.Frame(json.dumps({"type": "notification", "data": data}).encode())


def ids_of(messages):
    return [message["data"]["id"] for message in messages]


def test_a_notification_reaches_every_socket_of_its_user_and_no_other(open_socket):
    hub, alice, bob = SocketHub(), new_id(), new_id()
    phone, phone_peer = open_socket(alice)
    laptop, laptop_peer = open_socket(alice)
    other, other_peer = open_socket(bob)
    for session in (phone, laptop, other):
        hub.attach(session)

    notification_id = new_id()
    assert hub.deliver(alice, notification_id, notification(notification_id, alice)) == 2
    assert ids_of(phone_peer.texts(1)) == [notification_id]
    assert ids_of(laptop_peer.texts(1)) == [notification_id]
    assert other_peer.nothing_waiting()
    # A user with no socket here gets nothing, and nobody else gets it instead.
    assert hub.deliver(new_id(), new_id(), notification(new_id(), alice)) == 0
    assert phone_peer.nothing_waiting() and other_peer.nothing_waiting()


def test_a_repeated_id_skips_sockets_that_had_it_but_reaches_one_attached_since(open_socket):
    hub, alice = SocketHub(), new_id()
    first, first_peer = open_socket(alice)
    hub.attach(first)
    repeated = new_id()
    assert hub.deliver(alice, repeated, notification(repeated, alice)) == 1
    assert ids_of(first_peer.texts(1)) == [repeated]

    # Brokers deliver at least once: the same id comes again after a new socket attached.
    later, later_peer = open_socket(alice)
    hub.attach(later)
    assert hub.deliver(alice, repeated, notification(repeated, alice)) == 1
    assert ids_of(later_peer.texts(1)) == [repeated]

    # The first socket got nothing more; the next fresh id still reaches both.
    fresh = new_id()
    assert hub.deliver(alice, fresh, notification(fresh, alice)) == 2
    assert ids_of(first_peer.texts(1)) == [fresh]
    assert ids_of(later_peer.texts(1)) == [fresh]


def test_a_paused_session_queues_until_resume_sends_its_backlog_first(open_socket):
    alice = new_id()
    session, peer = open_socket(alice, paused=True)
    backlog_ids = [new_id(), new_id()]
    live_only = new_id()
    # While paused (its handler is still reading the backlog) live frames wait,
    # one of them a duplicate of a backlog notification.
    session.push(notification(backlog_ids[1], alice), backlog_ids[1])
    session.push(notification(live_only, alice), live_only)
    assert peer.nothing_waiting()

    session.resume([(i, notification(i, alice)) for i in backlog_ids])
    assert ids_of(peer.texts(3)) == [*backlog_ids, live_only]
    assert peer.nothing_waiting(), "the live duplicate of a backlog id was skipped"

    # A backlog id arriving live later is skipped too.
    session.push(notification(backlog_ids[0], alice), backlog_ids[0])
    assert peer.nothing_waiting()


def test_frames_without_an_id_are_never_skipped_as_repeats(open_socket):
    session, peer = open_socket(new_id(), paused=True)
    ready = wire.Frame(b'{"type":"ready","data":{"missed":0,"truncated":false}}')
    session.push(ready)
    session.resume([])
    assert peer.texts(1)[0]["type"] == "ready"


def test_ids_at_or_below_the_floor_are_not_sent(open_socket):
    alice = new_id()
    session, peer = open_socket(alice)
    older, floor = new_id(), new_id()
    session.floor = floor  # the client's `since`: it has everything up to there
    session.push(notification(older, alice), older)
    session.push(notification(floor, alice), floor)
    newer = new_id()
    session.push(notification(newer, alice), newer)
    assert ids_of(peer.texts(1)) == [newer]
    assert peer.nothing_waiting()


def test_attach_and_detach_say_whether_a_socket_is_the_users_first_or_last(open_socket):
    hub, alice = SocketHub(), new_id()
    one, _ = open_socket(alice)
    two, _ = open_socket(alice)
    assert hub.attach(one) is True
    assert hub.attach(two) is False
    assert hub.socket_count() == 2 and hub.user_ids() == [alice]
    assert hub.detach(one) is False
    assert hub.detach(two) is True
    assert hub.detach(two) is False, "detaching a socket twice is harmless"
    assert hub.user_ids() == [] and hub.sessions_of(alice) == []


def test_presence_changes_go_to_watchers_only(open_socket):
    hub = SocketHub()
    watcher, watcher_peer = open_socket(new_id())
    other, other_peer = open_socket(new_id())
    hub.attach(watcher)
    hub.attach(other)
    hub.watch_presence(watcher)
    frame = wire.Frame(b'{"type":"presence","data":{"connected":true}}')
    assert hub.broadcast_presence(frame) == 1
    assert watcher_peer.texts(1)[0]["type"] == "presence"
    assert other_peer.nothing_waiting()

    hub.detach(watcher)  # a detached watcher stops watching
    assert hub.broadcast_presence(frame) == 0


def test_close_expired_closes_only_sockets_whose_token_expired(open_socket):
    hub, now = SocketHub(), 1_000
    expired, _ = open_socket(new_id(), claims={"exp": now})
    valid, _ = open_socket(new_id(), claims={"exp": now + 60})
    no_claims, _ = open_socket(new_id())
    for session in (expired, valid, no_claims):
        hub.attach(session)
    assert hub.close_expired(now) == 1
    assert expired.ws.closed.wait(WAIT)
    assert expired.ws.closed_with[0] == hub_module.CLOSE_POLICY_VIOLATION
    assert not valid.closed and not no_claims.closed
    assert not valid.ws.closed.is_set() and not no_claims.ws.closed.is_set()


def test_a_socket_whose_queue_overflows_is_closed_and_gets_nothing_more(open_socket):
    alice = new_id()
    # Paused, so frames queue as they would behind a client that stopped reading.
    session, peer = open_socket(alice, max_queue=2, paused=True)
    for _ in range(3):
        notification_id = new_id()
        session.push(notification(notification_id, alice), notification_id)
    assert session.ws.closed.wait(WAIT)
    assert session.ws.closed_with[0] == hub_module.CLOSE_TRY_AGAIN_LATER
    assert session.closed
    session.resume([])
    assert peer.nothing_waiting(), "what had queued was dropped: the client resumes with since"


def test_a_ping_is_written_in_turn_and_a_missed_pong_closes_the_socket(open_socket):
    hub = SocketHub()
    session, peer = open_socket(new_id())
    hub.attach(session)
    assert hub.ping_all() == 0
    assert peer.frame()[:2] == (0x9, b"")
    assert session.ws.pong_received is False, "the next pong will set it"
    # No pong came back before the next round: the socket is closed.
    assert hub.ping_all() == 1
    assert session.ws.closed.wait(WAIT)
    assert session.ws.closed_with[0] == hub_module.CLOSE_POLICY_VIOLATION


def test_frames_behind_a_full_kernel_buffer_wait_and_arrive_whole_and_in_order(open_socket):
    alice = new_id()
    session, peer = open_socket(alice)
    # Far more than a socketpair's buffer holds while the client does not read:
    # the kernel takes part of a frame, the rest and what follows wait for a writer.
    sent = [new_id() for _ in range(40)]
    for notification_id in sent:
        session.push(big_notification(notification_id, alice, 100_000), notification_id)
    assert not session.closed
    assert ids_of(peer.texts(len(sent))) == sent


def test_a_client_that_stops_reading_gets_its_socket_closed_once_the_queue_overflows(
    open_socket,
):
    alice = new_id()
    session, _ = open_socket(alice, max_queue=2)
    # The client never reads: the kernel buffer fills, the writer blocks, the queue grows.
    for _ in range(20):
        notification_id = new_id()
        session.push(big_notification(notification_id, alice, 1_000_000), notification_id)
        if session.closed:
            break
    assert session.closed
    assert session.ws.closed.wait(WAIT)
    assert session.ws.closed_with == (
        hub_module.CLOSE_TRY_AGAIN_LATER,
        "Too slow; reconnect with since",
    )
