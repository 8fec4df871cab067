"""Every WebSocket frame Herald sends and accepts on `/ws`, in one place, with its encoder.

Frames are JSON objects with a `type`. `SERVER_FRAMES` and `CLIENT_FRAMES` list
each kind with its shape and when it travels; the API description
(`app.openapi`) is written from them, a test holds the README's table and the
browser client to them, and the server builds every frame it sends with the
functions below. `notification` and `presence` frames are the broker's events
as they arrive (`app.delivery.events`): one instance encodes them once, and
every socket gets the same bytes.
"""

import json
from typing import NamedTuple

from app.conversations.models import Message
from app.delivery import events
from app.notifications import inbox
from app.notifications.models import Notification
from app.realtime.wire import Frame


class FrameKind(NamedTuple):
    type: str
    shape: str  # the frame as JSON, for the docs
    when: str


SERVER_FRAMES = (
    FrameKind(
        "ready",
        '{"type": "ready", "data": {"missed": n, "messages": k, "truncated": false, '
        '"changes": m, "resync": false, "inbox": {"userId", "seq", "unreadCount", '
        '"countedThrough"}}}',
        "the socket is live; after a reconnect with `since`, once the `n` missed "
        "notifications and `k` messages already published were sent (any still on their "
        "way follow live, in order); with `seq`, once the current state of the `m` "
        "notifications changed "
        "since was sent (`resync`: too much changed, reload the list). `inbox` is the "
        "state now: the last change's number and the unread count",
    ),
    FrameKind(
        events.NOTIFICATION,
        '{"type": "notification", "data": {...}}',
        "a new notification, the same object REST returns",
    ),
    FrameKind(
        events.NOTIFICATION_UPDATED,
        '{"type": "notification.updated", "data": {...}, "inbox": {...}}',
        "one of the user's notifications changed (read, unread, edited by its sender), "
        "on any of their devices: the notification as it is now, and `inbox` as in `ready`",
    ),
    FrameKind(
        events.NOTIFICATION_DELETED,
        '{"type": "notification.deleted", "id": "...", "inbox": {...}}',
        "one of the user's notifications was deleted, or retracted by its sender",
    ),
    FrameKind(
        events.NOTIFICATIONS_READ_ALL,
        '{"type": "notifications.read_all", "upTo": "...", "stillUnread": [...], "inbox": {...}}',
        "every notification up to `upTo` is read, except those in `stillUnread`. "
        "Apply a change to a notification only if its `inbox.seq` is above the last one "
        "applied to it, and take `unreadCount` only from a higher `seq`: changes from "
        "several devices may arrive out of order",
    ),
    FrameKind(
        events.MESSAGE,
        '{"type": "message", "for": "<user id>", "data": {"id", "conversationId", "senderId", '
        '"recipientId", "text", "createdAt", "readAt"}}',
        "a direct message to or from the user (their other tabs too), the object REST returns",
    ),
    FrameKind(
        events.MESSAGE_READ,
        '{"type": "message.read", "for": "<user id>", "data": {"readerId", "senderId", '
        '"upTo", "readAt"}}',
        "a read receipt: `readerId` has read what `senderId` sent up to message `upTo` "
        "(it only moves forward)",
    ),
    FrameKind(
        events.TYPING,
        '{"type": "typing", "data": {"from": "<user id>", "to": "<user id>"}}',
        "`from` is typing a message to the user (sent again while they type; never stored)",
    ),
    FrameKind(
        "read",
        '{"type": "read", "data": {...}}',
        'answer to the client\'s `{"type": "read", "id": "..."}`',
    ),
    FrameKind("pong", '{"type": "pong"}', 'answer to `{"type": "ping"}`'),
    FrameKind(
        "auth.ok",
        '{"type": "auth.ok", "data": {"expiresAt": ...}}',
        'answer to `{"type": "auth", "token": "<fresh access token>"}`',
    ),
    FrameKind(
        "presence.watching",
        '{"type": "presence.watching"}',
        'answer to `{"type": "presence.watch"}`: presence changes follow',
    ),
    FrameKind(
        events.PRESENCE,
        '{"type": "presence", "data": {"userId", "username", "connected"}}',
        'after `{"type": "presence.watch"}`: a user came online or went offline',
    ),
    FrameKind(
        "stats",
        '{"type": "stats", "data": {"sockets", "usersOnline", "deliveriesPerSecond", ...}}',
        'after `{"type": "stats.watch"}` (admins): the operator\'s figures, now and then '
        "every ADMIN_STATS_INTERVAL seconds",
    ),
    FrameKind(
        "error",
        '{"type": "error", "error": {"code": ..., "message": ...}}',
        "a client frame that could not be handled (`id` names the notification, if any)",
    ),
)

CLIENT_FRAMES = (
    FrameKind(
        "read", '{"type": "read", "id": "..."}', "mark one of the caller's notifications read"
    ),
    FrameKind("ping", '{"type": "ping"}', "check the line; answered with `pong`"),
    FrameKind(
        "typing",
        '{"type": "typing", "to": "<user id>"}',
        "show that user that the caller is typing to them (at most once a second per "
        "user is passed on)",
    ),
    FrameKind("presence.watch", '{"type": "presence.watch"}', "receive every presence change"),
    FrameKind("stats.watch", '{"type": "stats.watch"}', "admins: receive the live figures"),
    FrameKind(
        "auth",
        '{"type": "auth", "token": "..."}',
        "swap in a fresh access token, so the socket outlives the first one's expiry",
    ),
)

SERVER_TYPES = frozenset(kind.type for kind in SERVER_FRAMES)
CLIENT_TYPES = frozenset(kind.type for kind in CLIENT_FRAMES)
CLIENT_FRAMES_HELP = (
    "Send "
    + ", ".join(kind.shape for kind in CLIENT_FRAMES[:-1])
    + f" or {CLIENT_FRAMES[-1].shape}."
)


def _frame(kind: str, **fields) -> Frame:
    assert kind in SERVER_TYPES, kind  # a kind the docs and the client do not know
    text = json.dumps({"type": kind, **fields}, separators=(",", ":"), default=str)
    return Frame(text.encode())


def ready(
    *,
    missed: int,
    truncated: bool,
    state: inbox.InboxState,
    messages: int = 0,
    changes: int = 0,
    resync=False,
) -> Frame:
    data = {
        "missed": missed,
        "messages": messages,
        "truncated": truncated,
        "changes": changes,
        "resync": resync,
        "inbox": events.inbox_state(state),
    }
    return _frame("ready", data=data)


def message(message: Message, *, for_user: str) -> Frame:
    """The frame of a stored message: the very bytes of that user's broker event."""
    return Frame(events.encode_message(message, for_user=for_user))


def inbox_change(snapshot: inbox.Snapshot) -> Frame:
    """The state after one change of the inbox: the very bytes its broker event carries."""
    return Frame(events.encode_inbox(snapshot))


def notification(notification: Notification) -> Frame:
    """The frame of a stored notification: the very bytes its broker event carries."""
    return Frame(events.encode(notification))


def read(notification: Notification) -> Frame:
    return _frame("read", data=events.NOTIFICATION_SCHEMA.dump(notification))


def pong() -> Frame:
    return _frame("pong")


def auth_ok(*, expires_at: int) -> Frame:
    return _frame("auth.ok", data={"expiresAt": expires_at})


def presence_watching() -> Frame:
    return _frame("presence.watching")


def stats(figures: dict) -> Frame:
    return _frame("stats", data=figures)


def error(code: int, message: str, *, notification_id: str | None = None) -> Frame:
    body = {"code": code, "message": message}
    if notification_id is not None:
        body["id"] = notification_id
    return _frame("error", error=body)


def parse_client_frame(text: str) -> tuple[str | None, dict]:
    """The `type` of a client frame (None if it is not one of `CLIENT_TYPES`) and its fields."""
    try:
        message = json.loads(text)
    except ValueError:
        return None, {}
    if not isinstance(message, dict) or message.get("type") not in CLIENT_TYPES:
        return None, {}
    return message["type"], message
