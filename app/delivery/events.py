"""The broker's wire format: every event that travels between instances.

A broker payload *is* the WebSocket frame, so an instance decodes it once to
learn where it goes and sends the same text to every socket:
`{"type": "notification", "data": <the notification as REST shows it>}` for the
recipient's sockets, the state after a change of a user's inbox
(`notification.updated`, `notification.deleted`, `notifications.read_all`, each
with an `inbox` object naming the user, see `app.notifications.inbox`) for
that user's sockets, `{"type": "message", "data": <the message>}` and its read
receipt `message.read` for both participants' sockets, `typing` for one user's
sockets, and `{"type": "presence", "data": {"userId", "username",
"connected"}}` for every socket that watches presence. `{"type": "revoked",
"data": {"userId"}}` stays on the server: it makes every instance recheck the
tokens of that user's sockets. `app.realtime.protocol` lists all but
the last among the frames a socket receives.
"""

import json
from typing import NamedTuple

import orjson

from app.conversations.schemas import MESSAGE as MESSAGE_SCHEMA
from app.ids import is_uuid
from app.notifications import inbox
from app.notifications.schemas import NOTIFICATION as NOTIFICATION_SCHEMA

CONTENT_TYPE = "application/json"
NOTIFICATION, PRESENCE, REVOKED = "notification", "presence", "revoked"
MESSAGE, MESSAGE_READ, TYPING = "message", "message.read", "typing"
NOTIFICATION_UPDATED = "notification.updated"
NOTIFICATION_DELETED = "notification.deleted"
NOTIFICATIONS_READ_ALL = "notifications.read_all"
# The frame of each kind of inbox change.
INBOX_FRAMES = {
    inbox.UPDATED: NOTIFICATION_UPDATED,
    inbox.DELETED: NOTIFICATION_DELETED,
    inbox.READ_ALL: NOTIFICATIONS_READ_ALL,
}
INBOX_TYPES = frozenset(INBOX_FRAMES.values())


class MalformedEvent(ValueError):
    """A broker message that is not a Herald event."""


# NamedTuples rather than dataclasses: the consumer makes one per message, and a
# tuple is made in a third of the time a frozen dataclass takes.
class NotificationEvent(NamedTuple):
    notification_id: str
    user_id: str
    payload: bytes  # the frame's text, UTF-8


class PresenceEvent(NamedTuple):
    user_id: str
    payload: bytes


class InboxEvent(NamedTuple):
    """A change of the user's inbox, for every socket of theirs (`app.notifications.inbox`)."""

    user_id: str
    payload: bytes


class MessageEvent(NamedTuple):
    """A direct message, for the sockets of one of its two participants."""

    message_id: str
    user_id: str  # whose copy this is
    payload: bytes


class ReceiptEvent(NamedTuple):
    """What the reader has read of a conversation, for one of its two participants."""

    user_id: str  # whose copy this is
    payload: bytes


class TypingEvent(NamedTuple):
    """Someone is typing to `user_id`; never stored."""

    user_id: str
    payload: bytes


class RevocationEvent(NamedTuple):
    """Some of the user's tokens were revoked: recheck that user's sockets."""

    user_id: str


Event = (
    NotificationEvent
    | InboxEvent
    | MessageEvent
    | ReceiptEvent
    | TypingEvent
    | PresenceEvent
    | RevocationEvent
)


def _dump(frame):
    return json.dumps(frame, separators=(",", ":")).encode()


def encode(notification) -> bytes:
    """The broker payload for a stored notification."""
    return _dump({"type": NOTIFICATION, "data": NOTIFICATION_SCHEMA.dump(notification)})


def inbox_state(state: inbox.InboxState) -> dict:
    """The `inbox` object of a frame: whose, as of which change, and the unread count."""
    return {
        "userId": state.user_id,
        "seq": state.seq,
        "unreadCount": state.unread_count,
        "countedThrough": state.counted_through,
    }


def encode_inbox(snapshot: inbox.Snapshot) -> bytes:
    """The broker payload, and the frame, of the state after one inbox change."""
    frame = {"type": INBOX_FRAMES[snapshot.kind]}
    if snapshot.kind == inbox.UPDATED:
        frame["data"] = NOTIFICATION_SCHEMA.dump(snapshot.notification)
    elif snapshot.kind == inbox.DELETED:
        frame["id"] = snapshot.notification_id
    else:
        frame["upTo"], frame["stillUnread"] = snapshot.up_to, snapshot.still_unread
    frame["inbox"] = inbox_state(snapshot.state)
    return _dump(frame)


def encode_message(message, *, for_user) -> bytes:
    """The broker payload, and the frame, of a stored message, for one participant.

    Each participant gets a copy of their own (`for`), published under their id:
    all of a user's events then share one key, so one Kafka partition keeps them
    in the order one `since` resumes (a key per conversation would not).
    """
    return _dump({"type": MESSAGE, "for": for_user, "data": MESSAGE_SCHEMA.dump(message)})


def encode_receipt(*, reader_id, other_id, message, for_user) -> bytes:
    """`reader_id` has read what `other_id` sent up to `message` (None: nothing yet)."""
    data = {
        "readerId": reader_id,
        "senderId": other_id,
        "upTo": message.id if message else None,
        "readAt": message.read_at.isoformat() if message else None,
    }
    return _dump({"type": MESSAGE_READ, "for": for_user, "data": data})


def encode_typing(*, from_id, to_id) -> bytes:
    return _dump({"type": TYPING, "data": {"from": from_id, "to": to_id}})


def encode_presence(*, user_id, username, connected):
    """The broker payload announcing that a user came online or went offline."""
    data = {"userId": user_id, "username": username, "connected": connected}
    return _dump({"type": PRESENCE, "data": data})


def encode_revocation(*, user_id):
    return _dump({"type": REVOKED, "data": {"userId": user_id}})


def decode(payload: bytes) -> "Event":
    """Check a broker payload and pull out what delivery needs."""
    try:
        # orjson: strictly UTF-8 (as a text frame must be), and a third of json's time
        # on the path every delivered message takes.
        frame = orjson.loads(payload)
        kind = frame["type"]
        if kind in INBOX_TYPES:
            state = frame["inbox"]
            if is_uuid(state["userId"]) and isinstance(state["seq"], int):
                return InboxEvent(state["userId"], payload)
            raise MalformedEvent("not a Herald event: bad inbox state")
        data = frame["data"]
        user_id = data.get("userId")
        if kind == NOTIFICATION and is_uuid(data["id"]) and is_uuid(user_id):
            return NotificationEvent(data["id"], user_id, payload)
        if kind in (MESSAGE, MESSAGE_READ):
            for_user = frame["for"]
            participants = (
                (data["senderId"], data["recipientId"])
                if kind == MESSAGE
                else (data["readerId"], data["senderId"])
            )
            if is_uuid(for_user) and for_user in participants:
                if kind == MESSAGE and is_uuid(data["id"]):
                    return MessageEvent(data["id"], for_user, payload)
                if kind == MESSAGE_READ:
                    return ReceiptEvent(for_user, payload)
        if kind == TYPING and is_uuid(data["from"]) and is_uuid(data["to"]):
            return TypingEvent(data["to"], payload)
        if kind == PRESENCE and is_uuid(user_id) and isinstance(data["connected"], bool):
            return PresenceEvent(user_id, payload)
        if kind == REVOKED and is_uuid(user_id):
            return RevocationEvent(user_id)
    # orjson's JSONDecodeError is a ValueError; AttributeError: `data` not an object.
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise MalformedEvent(f"not a Herald event: {error!r}") from None
    raise MalformedEvent("not a Herald event: unknown type or bad ids")
