"""A graphql-transport-ws connection as the hub sees it: a session like a /ws socket.

The hub (`app.realtime.hub`) hands it the same frames as every socket of its
user, with the same once-per-id rule across the user's sockets, so a
subscription gets the guarantees of /ws. Here each frame becomes the root
value of the subscriptions it concerns, whose selection sets are executed
against it by one writer per connection, the only one writing to its socket.
Frames wait in a bounded queue; a connection that cannot keep up is closed
(1013) and its client resubscribes with `since`.

A subscription with `since` is resumed like a /ws socket: attached first, then
what it missed read from the database; live events that come meanwhile wait
until those are sent, and any among them already sent are skipped.
"""

import contextlib
import json
import logging
import queue
import re
import time
from datetime import datetime
from types import SimpleNamespace

from graphql import execute

from app import metrics
from app.concurrency import spawn
from app.graphql.errors import convert_all
from app.graphql.subscriptions import FIELD_OF_FRAME
from app.realtime import wire
from app.realtime.hub import CLOSE_POLICY_VIOLATION, CLOSE_TIMEOUT, CLOSE_TRY_AGAIN_LATER

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403  # graphql-transport-ws's close for a token no longer accepted
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def event_object(data: dict) -> SimpleNamespace:
    """A frame's `data` (camelCase JSON) as the attributes the GraphQL types read."""
    fields = {}
    for name, value in data.items():
        attribute = _CAMEL.sub("_", name).lower()
        if attribute.endswith("_at") and isinstance(value, str):
            value = datetime.fromisoformat(value)
        fields[attribute] = value
    return SimpleNamespace(**fields)


def root_of(frame: dict) -> SimpleNamespace:
    """What a frame's subscription field resolves to: its `data`, or an inbox change."""
    if "inbox" not in frame:
        return event_object(frame["data"])
    notification = event_object(frame["data"]) if frame.get("data") else None
    return SimpleNamespace(
        kind=frame["type"],
        notification=notification,
        notification_id=frame.get("id") or (notification.id if notification else None),
        up_to=frame.get("upTo"),
        still_unread=frame.get("stillUnread"),
        inbox=event_object(frame["inbox"]),
    )


class Subscription:
    """One active subscription of a connection: its document, and where it resumes."""

    def __init__(self, id, *, field, document, variables, operation_name, since=None):
        self.id, self.field = id, field
        self.document, self.variables, self.operation_name = document, variables, operation_name
        self.floor = (since or "").lower()  # the client has everything up to here
        self.resuming = True  # until its backlog is sent; live events wait meanwhile
        self.waiting = []
        self.sent = set()

    def accepts(self, event_id):
        return event_id is None or (event_id > self.floor and event_id not in self.sent)


class GraphQLSession:
    """One graphql-transport-ws connection of one user, attached to the hub."""

    def __init__(self, ws, user_id, *, claims, max_queue, app, schema, context):
        self.ws, self.user_id, self.claims = ws, user_id, claims
        self.app, self.schema, self.context = app, schema, context
        self.joined = 0  # set by the hub
        self.closed = False
        self.subscriptions: dict[str, Subscription] = {}
        self.outgoing = queue.Queue(maxsize=max_queue)

    # -- the hub's side (never blocks) --------------------------------------

    def push(self, frame, notification_id=None) -> None:
        if not self.closed and frame is not None and hasattr(frame, "payload"):
            self._put(("event", frame, notification_id))

    def ping(self) -> bool:
        """A WebSocket ping, as the hub's loop gives every socket; if the client never
        answered the last one, the connection is closed instead."""
        if self.closed:
            return True
        if not wire.pong_received(self.ws):
            self.end(CLOSE_POLICY_VIOLATION, "Ping/Pong timeout")
            return False
        self._put(("ping", None, None))
        return True

    def close(self, code: int, message: str) -> None:
        """Close in the background; the hub's 1008 (a revoked or expired token) is 4403 here."""
        self.end(CLOSE_FORBIDDEN if code == CLOSE_POLICY_VIOLATION else code, message)

    def end(self, code, message):
        """Close with `code` as it is, in the background."""
        self.closed = True
        self._stop_writer()
        spawn(self._close_now, code, message, name="herald-graphql-close")

    # -- the connection's side -----------------------------------------------

    def send(self, message: dict) -> None:
        self._put(("send", message, None))

    def resumed(self, subscription: Subscription, backlog: list) -> None:
        """Send `backlog` (documents, oldest first) to `subscription`, then what waited."""
        self._put(("resumed", subscription, backlog))

    def start(self) -> None:
        spawn(self._write, name="herald-graphql-writer")

    def stop(self) -> None:
        self.closed = True
        self._stop_writer()

    def _put(self, item) -> None:
        try:
            self.outgoing.put_nowait(item)
        except queue.Full:
            logger.warning("Closing a GraphQL socket of user %s: it cannot keep up", self.user_id)
            metrics.socket_overflowed(self.outgoing.qsize())
            self.close(CLOSE_TRY_AGAIN_LATER, "Too slow; subscribe again with since")

    def _stop_writer(self):
        with contextlib.suppress(queue.Full):
            self.outgoing.put_nowait(None)

    def _close_now(self, code, message):
        with contextlib.suppress(Exception):
            self.ws.close(reason=code, message=message)
        time.sleep(CLOSE_TIMEOUT)
        wire.cut(self.ws)  # a no-op once the client answered and the socket is gone

    def _write(self):
        with self.app.app_context():
            while (item := self.outgoing.get()) is not None and not self.closed:
                try:
                    for message in self._messages_for(*item):
                        self.ws.send(json.dumps(message, separators=(",", ":"), default=str))
                except Exception:  # the socket died; its handler cleans up
                    logger.debug("GraphQL socket of %s gone", self.user_id, exc_info=True)
                    self.closed = True
                    return

    def _messages_for(self, kind, value, event_id):
        if kind == "ping":  # written here, so the writer stays the only one writing
            wire.ping_sent(self.ws)
            self.ws.sock.send(wire.PING_FRAME)
            return []
        if kind == "send":
            return [value]
        if kind == "resumed":
            return self._resume(value, event_id)
        frame = json.loads(value.payload)
        field = FIELD_OF_FRAME.get(frame.get("type"))
        if field is None or frame.get("for", self.user_id) != self.user_id:
            return []
        root = root_of(frame)
        messages = []
        for subscription in list(self.subscriptions.values()):
            if subscription.field != field or not subscription.accepts(event_id):
                continue
            if subscription.resuming:
                subscription.waiting.append((event_id, root))
            else:
                messages.append(self._next(subscription, root))
        return messages

    def _resume(self, subscription, backlog):
        if self.subscriptions.get(subscription.id) is not subscription:
            return []  # completed meanwhile
        messages = [self._next(subscription, document) for document in backlog]
        subscription.sent = {document.id for document in backlog}
        for event_id, root in subscription.waiting:
            if subscription.accepts(event_id):
                messages.append(self._next(subscription, root))
        subscription.resuming, subscription.waiting = False, []
        return messages

    def _next(self, subscription, root):
        result = execute(
            self.schema,
            subscription.document,
            root_value=root,
            context_value=self.context,
            variable_values=subscription.variables,
            operation_name=subscription.operation_name,
        )
        payload = {"data": result.data}
        if result.errors:
            payload["errors"] = [e.formatted for e in convert_all(result.errors)]
        return {"id": subscription.id, "type": "next", "payload": payload}
