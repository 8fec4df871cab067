"""The message a notification travels as, through the broker and onto sockets.

The broker payload *is* the WebSocket frame, `{"type": "notification", "data":
<the notification as REST shows it>}`, so an instance decodes it once to learn
the recipient and sends the same text to every socket.
"""

import json
from dataclasses import dataclass

from app.ids import is_uuid
from app.notifications.schemas import NOTIFICATION

CONTENT_TYPE = "application/json"


class MalformedEvent(ValueError):
    """A broker message that is not a notification event."""


@dataclass(frozen=True)
class NotificationEvent:
    notification_id: str
    user_id: str
    frame: str


def encode(notification):
    """The broker payload for a stored notification."""
    frame = {"type": "notification", "data": NOTIFICATION.dump(notification)}
    return json.dumps(frame, separators=(",", ":")).encode()


def decode(payload):
    """Check a broker payload and pull out what delivery needs."""
    try:
        text = payload.decode()
        frame = json.loads(text)
        data = frame["data"]
        notification_id, user_id = data["id"], data["userId"]
    except (UnicodeDecodeError, ValueError, TypeError, KeyError) as error:
        raise MalformedEvent(f"not a notification event: {error!r}") from None
    if frame.get("type") != "notification" or not (is_uuid(notification_id) and is_uuid(user_id)):
        raise MalformedEvent("not a notification event: bad type or ids")
    return NotificationEvent(notification_id, user_id, text)
