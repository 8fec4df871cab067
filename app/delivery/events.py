"""The broker's wire format: every event that travels between instances.

A broker payload *is* the WebSocket frame, so an instance decodes it once to
learn where it goes and sends the same text to every socket:
`{"type": "notification", "data": <the notification as REST shows it>}` for the
recipient's sockets, and `{"type": "presence", "data": {"userId", "username",
"connected"}}` for every socket that watches presence. `{"type": "revoked",
"data": {"userId"}}` stays on the server: it makes every instance recheck the
tokens of that user's sockets. `app.realtime.protocol` lists the first two
among the frames a socket receives.
"""

import json
from typing import NamedTuple

import orjson

from app.ids import is_uuid
from app.notifications.schemas import NOTIFICATION as NOTIFICATION_SCHEMA

CONTENT_TYPE = "application/json"
NOTIFICATION, PRESENCE, REVOKED = "notification", "presence", "revoked"


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


class RevocationEvent(NamedTuple):
    """Some of the user's tokens were revoked: recheck that user's sockets."""

    user_id: str


Event = NotificationEvent | PresenceEvent | RevocationEvent


def _dump(frame):
    return json.dumps(frame, separators=(",", ":")).encode()


def encode(notification) -> bytes:
    """The broker payload for a stored notification."""
    return _dump({"type": NOTIFICATION, "data": NOTIFICATION_SCHEMA.dump(notification)})


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
        kind, data = frame["type"], frame["data"]
        user_id = data["userId"]
        if kind == NOTIFICATION and is_uuid(data["id"]) and is_uuid(user_id):
            return NotificationEvent(data["id"], user_id, payload)
        if kind == PRESENCE and is_uuid(user_id) and isinstance(data["connected"], bool):
            return PresenceEvent(user_id, payload)
        if kind == REVOKED and is_uuid(user_id):
            return RevocationEvent(user_id)
    except (ValueError, TypeError, KeyError) as error:  # orjson's JSONDecodeError is a ValueError
        raise MalformedEvent(f"not a Herald event: {error!r}") from None
    raise MalformedEvent("not a Herald event: unknown type or bad ids")
