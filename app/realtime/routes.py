"""`GET /ws`: the WebSocket a signed-in client keeps open to receive notifications.

The handshake is authenticated before the upgrade (a bad or missing token gets
a 401, never a socket). The frames both ways are those of `app.realtime.protocol`;
a socket whose token expires or is revoked is closed with 1008 unless its
client sent a fresh one (`auth`).
"""

import logging
import time

from flask import Blueprint, current_app, request
from flask_jwt_extended import current_user, decode_token, get_jwt, verify_jwt_in_request

from app import presence, ratelimit
from app.auth import tokens
from app.conversations import service as conversations
from app.database import DATABASE_ERRORS
from app.errors import Forbidden, HeraldError, ServiceUnavailable
from app.extensions import current_node, sock
from app.headers import origin_allowed
from app.ids import is_uuid
from app.notifications import service
from app.realtime import operator_view, protocol, wire
from app.realtime.hub import CLOSE_POLICY_VIOLATION, CLOSE_TRY_AGAIN_LATER, SocketSession

logger = logging.getLogger(__name__)
bp = Blueprint("realtime", __name__)


@bp.before_request
def authenticate_handshake():
    """Refuse the upgrade unless the access token (query `token` or header) is valid."""
    ratelimit.hit(current_app, "socket_per_address", request.remote_addr)
    origin = request.headers.get("Origin")
    allowed = current_app.config["CORS_ALLOWED_ORIGINS"]
    if not origin_allowed(origin, host=request.host, allowed=allowed):
        raise Forbidden(f"Origin {origin} may not open a socket here.")
    verify_jwt_in_request(locations=["query_string", "headers"])
    if not current_node().ready_to_deliver():
        # A socket attached before the consumer listens could miss what is published
        # in between (a new RabbitMQ queue only holds what comes after it exists).
        raise ServiceUnavailable(
            "Not ready to deliver yet; reconnect in a moment.", headers={"Retry-After": "1"}
        )
    if not current_app.config["WS_PERMESSAGE_DEFLATE"]:
        # Without the offer, simple-websocket keeps no zlib state (~90 KB) per socket.
        request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)


@sock.route("/ws", bp=bp)
def notifications_socket(ws):
    wire.serialize_writes(ws)
    config, node = current_app.config, current_node()
    user_id, username = current_user.id, current_user.username
    since, seq = request.args.get("since"), request.args.get("seq")
    claims = _socket_claims(get_jwt())
    _forget_the_handshake()
    session = SocketSession(ws, user_id, max_queue=config["WS_SEND_QUEUE_SIZE"], claims=claims)
    if node.hub.attach(session):
        _set_presence(node, presence.mark_online, user_id, username=username, connected=True)
    budget = FrameBudget(config["WS_CLIENT_FRAMES_PER_SECOND"])
    typing = TypingThrottle(config["WS_TYPING_INTERVAL"])
    try:
        _send_backlog(
            session,
            since,
            seq,
            outbox=node.outbox,
            limit=config["WS_RESUME_LIMIT"],
            wait=config["WS_RESUME_WAIT"],
        )
        while True:  # until the client or the server closes (`receive` gives None)
            text = ws.receive()
            if text is None:
                break
            if not budget.spend():
                session.close(CLOSE_POLICY_VIOLATION, "Too many frames; slow down")
                break
            answer = _answer(node, session, text, typing)
            if answer is not None:
                session.push(answer)
    finally:
        session.closed = True
        if node.hub.detach(session):
            _set_presence(node, presence.mark_offline, user_id)


def _forget_the_handshake():
    """Free what the handshake left in the request context, which lives as long as the socket.

    The decoded token, its `User` and the query string parsed around the token
    cost an idle socket about 3.5 KiB (`bench.capacity`) and are not used again:
    what the socket needs of them is copied out first.
    """
    tokens.forget_request_identity()
    request.__dict__.pop("args", None)  # werkzeug's cached parse of the query string
    request.query_string = b""


class FrameBudget:
    """A token bucket: `rate` client frames a second, bursts of twice that."""

    __slots__ = ("capacity", "last", "rate", "tokens")

    def __init__(self, rate):
        self.rate, self.capacity = rate, rate * 2
        self.tokens, self.last = self.capacity, time.monotonic()

    def spend(self):
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class TypingThrottle:
    """Passes on a socket's typing indicator to one user at most once an `interval`."""

    __slots__ = ("interval", "last")

    def __init__(self, interval):
        self.interval, self.last = interval, {}

    def allows(self, to_id):
        now = time.monotonic()
        if now - self.last.get(to_id, -self.interval) < self.interval:
            return False
        if len(self.last) > 100:  # someone typing to many: forget the oldest
            self.last = {k: v for k, v in self.last.items() if now - v < self.interval}
        self.last[to_id] = now
        return True


def _send_backlog(session, since, seq, *, outbox, limit, wait):
    """Queue what a reconnecting client missed before anything live: the notifications
    after `since`, oldest first, then the state now of those changed after change `seq`.

    The state is read last, so the unread count in `ready` counts the missed ones.
    When the store cannot be read the socket is closed with 1013, so its client
    comes back with the same `since`: it is upgraded by now, so an HTTP 503 can no
    longer be the answer, and a socket without its backlog would miss it.
    """
    if since and is_uuid(since):
        session.floor = since.lower()  # anything up to `since` the client already has
    missed, truncated, messages, messages_truncated = [], False, [], False
    try:
        if since:
            missed, truncated = service.missed_since(
                user_id=session.user_id, since=since, limit=limit, outbox=outbox, publish_wait=wait
            )
            messages, messages_truncated = conversations.missed_since(
                user_id=session.user_id,
                since=since.lower(),
                limit=limit,
                outbox=outbox,
                publish_wait=wait,
            )
        changes, state, resync = service.inbox_since(user_id=session.user_id, seq=seq, limit=limit)
    except HeraldError as error:
        session.resume([(None, protocol.error(error.status_code, error.message))])
        return
    except DATABASE_ERRORS:
        logger.warning("Backlog of a socket of %s not read: database unavailable", session.user_id)
        session.close(CLOSE_TRY_AGAIN_LATER, "Database unavailable; reconnect in a moment")
        return
    # Notifications and messages share one id order (the outbox's): merged in it.
    backlog = sorted(
        [(n.id, protocol.notification(n)) for n in missed]
        + [(m.id, protocol.message(m, for_user=session.user_id)) for m in messages]
    )
    backlog.extend((None, protocol.inbox_change(change)) for change in changes)
    ready = protocol.ready(
        missed=len(missed),
        messages=len(messages),
        truncated=truncated or messages_truncated,
        state=state,
        changes=len(changes),
        resync=resync,
    )
    backlog.append((None, ready))
    session.resume(backlog)


def _answer(node, session, text, typing):
    """The reply to one client frame (None: it needs none)."""
    kind, message = protocol.parse_client_frame(text)
    if kind == "ping":
        return protocol.pong()
    if kind == "typing":
        return _typing(node, session, message.get("to"), typing)
    if kind == "presence.watch":
        node.hub.watch_presence(session)
        return protocol.presence_watching()
    if kind == "auth":
        return _reauthenticate(session, message.get("token"))
    if kind == "stats.watch":
        return operator_view.watch(session)
    if kind != "read" or not isinstance(message.get("id"), str):
        return protocol.error(400, protocol.CLIENT_FRAMES_HELP)
    return _mark_read(node, session, message["id"])


def _mark_read(node, session, notification_id):
    try:
        notification = service.mark_read(
            user_id=session.user_id, notification_id=notification_id, outbox=node.outbox
        )
    except HeraldError as error:
        return protocol.error(error.status_code, error.message, notification_id=notification_id)
    except DATABASE_ERRORS:
        return protocol.error(
            503, "Database unavailable; try again.", notification_id=notification_id
        )
    return protocol.read(notification)


def _typing(node, session, to_id, throttle):
    """Pass on that the socket's user is typing to `to_id` (throttled; no answer)."""
    if not isinstance(to_id, str) or not throttle.allows(to_id):
        return None if isinstance(to_id, str) else protocol.error(400, protocol.CLIENT_FRAMES_HELP)
    try:
        allowed = conversations.can_message(sender_id=session.user_id, recipient_id=to_id)
    except DATABASE_ERRORS:
        return None  # a typing indicator is best effort
    if not allowed:
        return protocol.error(404, "No user you can message has this id.")
    node.announce.typing(session.user_id, to_id)
    return None


def _socket_claims(claims):
    """What a socket keeps of its token: enough to expire or revoke it later."""
    return {"jti": claims["jti"], "exp": claims["exp"], "ver": claims.get("ver", 0)}


def _reauthenticate(session, token):
    """Swap the socket's token for a fresh one, so it outlives the first one's expiry."""
    try:
        claims = decode_token(token)
    except Exception:
        claims = None
    if (
        claims is None
        or claims.get("type") != "access"
        or claims.get("sub") != session.user_id
        or tokens.is_revoked(claims)
    ):
        return protocol.error(401, "That token cannot be used here.")
    session.claims = _socket_claims(claims)
    return protocol.auth_ok(expires_at=claims["exp"])


def _set_presence(node, change, user_id, **known):
    try:
        change(node.instance_id, user_id)
    except DATABASE_ERRORS:
        logger.warning("Presence not stored for %s; the heartbeat will repair it", user_id)
        return
    node.announce.presence(user_id, **known)
