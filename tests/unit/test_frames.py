"""Broker events (app/delivery/events.py), wire frames (app/realtime/wire.py) and the
socket protocol's encoders (app/realtime/protocol.py), with no server."""

import json
import struct

import pytest

from app.clock import now
from app.delivery import events
from app.ids import new_id
from app.notifications import inbox
from app.notifications.models import Notification
from app.realtime import protocol, wire

STATE = inbox.InboxState(new_id(), 7, 2, new_id())


def notification_payload(notification_id, user_id):
    data = {"id": notification_id, "userId": user_id, "title": "hi", "read": False}
    return events._dump({"type": events.NOTIFICATION, "data": data})


def test_a_notification_payload_decodes_to_its_ids_and_keeps_its_bytes():
    notification_id, user_id = new_id(), new_id()
    payload = notification_payload(notification_id, user_id)
    event = events.decode(payload)
    assert event == events.NotificationEvent(notification_id, user_id, payload)


def test_a_presence_payload_round_trips():
    user_id = new_id()
    payload = events.encode_presence(user_id=user_id, username="x", connected=True)
    assert events.decode(payload) == events.PresenceEvent(user_id, payload)
    assert json.loads(payload)["data"] == {"userId": user_id, "username": "x", "connected": True}


def test_a_revocation_payload_round_trips():
    user_id = new_id()
    assert events.decode(events.encode_revocation(user_id=user_id)) == events.RevocationEvent(
        user_id
    )


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'"a string"',
        b"{}",
        b'{"type": "notification"}',
        events._dump({"type": "unknown", "data": {"userId": new_id()}}),
        events._dump({"type": "notification", "data": {"id": "1", "userId": new_id()}}),
        events._dump({"type": "notification", "data": {"id": new_id(), "userId": "bob"}}),
        events._dump({"type": "presence", "data": {"userId": new_id(), "connected": "yes"}}),
        events._dump({"type": "revoked", "data": {"userId": 7}}),
        events._dump({"type": "notification.deleted", "id": new_id()}),
        events._dump({"type": "notification.deleted", "inbox": {"userId": "x", "seq": 1}}),
        events._dump({"type": "notification.updated", "inbox": {"userId": new_id(), "seq": "1"}}),
        b'{"type": "presence", "data": {"userId": "\xff", "connected": true}}',
    ],
    ids=[
        "not-json",
        "a-list",
        "a-string",
        "no-type",
        "no-data",
        "unknown-type",
        "bad-notification-id",
        "bad-user-id",
        "connected-not-bool",
        "user-id-not-string",
        "inbox-change-without-inbox",
        "inbox-change-bad-user",
        "inbox-change-seq-not-int",
        "invalid-utf8",
    ],
)
def test_a_payload_that_is_not_a_herald_event_is_malformed(payload):
    with pytest.raises(events.MalformedEvent):
        events.decode(payload)


def parse_server_frame(data):
    """(opcode, header length, payload) of one unmasked frame, per RFC 6455 §5.2."""
    first, second = data[0], data[1]
    assert first & 0x80, "FIN is set: Herald never fragments"
    assert not second & 0x80, "a server's frames are unmasked"
    size, header = second & 0x7F, 2
    if size == 126:
        (size,), header = struct.unpack("!H", data[2:4]), 4
    elif size == 127:
        (size,), header = struct.unpack("!Q", data[2:10]), 10
    assert len(data) == header + size
    return first & 0x0F, header, data[header:]


@pytest.mark.parametrize(("size", "header"), [(10, 2), (125, 2), (200, 4), (70000, 10)])
def test_a_frame_header_has_the_length_form_its_payload_size_needs(size, header):
    payload = b"x" * size
    frame = wire.Frame(payload)
    assert parse_server_frame(frame.data) == (0x1, header, payload)
    assert frame.text == payload.decode()


def test_the_ping_frame_is_an_empty_ping():
    assert parse_server_frame(wire.PING_FRAME) == (0x9, 2, b"")


@pytest.mark.parametrize(
    "frame",
    [
        protocol.ready(missed=3, truncated=False, state=STATE),
        protocol.pong(),
        protocol.auth_ok(expires_at=123),
        protocol.presence_watching(),
        protocol.error(404, "gone", notification_id=new_id()),
        protocol.error(400, "bad"),
    ],
    ids=["ready", "pong", "auth.ok", "presence.watching", "error-with-id", "error"],
)
def test_every_encoder_makes_a_frame_of_a_documented_server_type(frame):
    message = json.loads(frame.payload)
    assert message["type"] in protocol.SERVER_TYPES
    # The frame's bytes on the wire carry the very same payload.
    assert parse_server_frame(frame.data)[2] == frame.payload


def test_the_ready_frame_carries_its_counts_and_the_inbox_state():
    frame = protocol.ready(missed=3, truncated=True, state=STATE, changes=2, resync=False)
    assert json.loads(frame.payload) == {
        "type": "ready",
        "data": {
            "missed": 3,
            "messages": 0,
            "truncated": True,
            "changes": 2,
            "resync": False,
            "inbox": {
                "userId": STATE.user_id,
                "seq": 7,
                "unreadCount": 2,
                "countedThrough": STATE.counted_through,
            },
        },
    }


def test_each_inbox_change_encodes_to_its_frame_and_decodes_to_its_user():
    notification = Notification(
        id=new_id(), user_id=STATE.user_id, sender_id=new_id(), message="hi", created_at=now()
    )
    snapshots = {
        events.NOTIFICATION_UPDATED: inbox.Snapshot(
            inbox.UPDATED, STATE, notification_id=notification.id, notification=notification
        ),
        events.NOTIFICATION_DELETED: inbox.Snapshot(
            inbox.DELETED, STATE, notification_id=notification.id
        ),
        events.NOTIFICATIONS_READ_ALL: inbox.Snapshot(
            inbox.READ_ALL, STATE, up_to=notification.id, still_unread=[new_id()]
        ),
    }
    for kind, snapshot in snapshots.items():
        payload = events.encode_inbox(snapshot)
        frame = json.loads(payload)
        assert frame["type"] == kind and kind in protocol.SERVER_TYPES
        assert frame["inbox"]["seq"] == 7 and frame["inbox"]["unreadCount"] == 2
        assert events.decode(payload) == events.InboxEvent(STATE.user_id, payload)
        assert protocol.inbox_change(snapshot).payload == payload
    updated = json.loads(events.encode_inbox(snapshots[events.NOTIFICATION_UPDATED]))
    assert updated["data"]["id"] == notification.id and updated["data"]["editedAt"] is None
    read_all = json.loads(events.encode_inbox(snapshots[events.NOTIFICATIONS_READ_ALL]))
    assert read_all["upTo"] == notification.id and len(read_all["stillUnread"]) == 1


def test_an_error_frame_names_its_notification_only_when_given_one():
    assert "id" not in json.loads(protocol.error(400, "bad").payload)["error"]
    notification_id = new_id()
    body = json.loads(protocol.error(404, "gone", notification_id=notification_id).payload)
    assert body["error"] == {"code": 404, "message": "gone", "id": notification_id}


def test_broker_events_are_among_the_frames_a_socket_receives():
    assert {events.NOTIFICATION, events.PRESENCE} <= protocol.SERVER_TYPES


@pytest.mark.parametrize(
    "text",
    ["not json", "[]", '"ping"', "3", "{}", '{"type": "nope"}', '{"type": "ready"}'],
    ids=["not-json", "list", "string", "number", "no-type", "unknown", "server-only-type"],
)
def test_a_client_frame_that_is_not_a_known_object_parses_to_none(text):
    assert protocol.parse_client_frame(text) == (None, {})


def test_a_known_client_frame_parses_to_its_type_and_fields():
    notification_id = new_id()
    text = json.dumps({"type": "read", "id": notification_id})
    assert protocol.parse_client_frame(text) == ("read", {"type": "read", "id": notification_id})
