"""`GET /api/stream`: the caller's live frames as Server-Sent Events, for clients that
cannot open a WebSocket (some proxies, server-side consumers, `EventSource`).

The stream is a session in the hub like a /ws socket (`StreamSession`), so it
gets every frame a socket of its user gets, counts for presence, and is closed
when its token expires or is revoked. Each frame is one event named by its
`type` (`notification`, `message`, `notification.updated`, `presence`, ...)
whose `data` is the frame's JSON; a notification's or message's event `id` is
its id, so a reconnect with `Last-Event-ID` (or `?since=`) resumes exactly as
`since` does on /ws: what was missed first, oldest first, none twice. Comments
keep an idle stream alive. What waits for a slow reader is bounded; a stream
that overflows ends, and its client reconnects with `Last-Event-ID`.

`EventSource` cannot send headers: `POST /api/stream/token` gives a token valid
STREAM_TOKEN_TTL seconds to pass as `?token=`. It carries the access token's
identity (`jti`, `exp`, `ver`), so revoking that token ends the stream too.
"""

import contextlib
import json
import logging
import queue

import marshmallow as ma
from flask import Response, current_app, request, stream_with_context
from flask.views import MethodView
from flask_jwt_extended import current_user, get_jwt, verify_jwt_in_request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app import metrics, presence
from app.auth import tokens
from app.auth.models import User
from app.conversations import service as conversations
from app.database import DATABASE_ERRORS
from app.errors import HeraldError, Unauthorized
from app.extensions import current_node
from app.ids import is_uuid
from app.notifications import service as notifications
from app.realtime import protocol
from app.security import Blueprint

logger = logging.getLogger(__name__)
blp = Blueprint("stream", __name__, url_prefix="/api", description="Server-Sent Events")
_SALT = "herald.stream-token"
_CLOSED = object()  # queued when the hub closes the stream


class StreamSession:
    """One open event stream of one user, as the hub sees a socket."""

    def __init__(self, user_id, *, claims, max_queue):
        self.user_id, self.claims = user_id, claims
        self.joined = 0  # set by the hub
        self.closed = False
        self.queue = queue.Queue(maxsize=max_queue)

    def push(self, frame, notification_id=None) -> None:
        if self.closed or not hasattr(frame, "payload"):
            return
        try:
            self.queue.put_nowait((notification_id, frame.payload))
        except queue.Full:
            logger.warning("Ending an event stream of user %s: it cannot keep up", self.user_id)
            metrics.socket_overflowed(self.queue.qsize())
            self.close(1013, "Too slow")

    def ping(self) -> bool:
        return True  # the stream's keep-alive comments find a dead reader

    def close(self, code, message) -> None:
        self.closed = True
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait((None, _CLOSED))


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _token_claims(claims):
    return {
        "sub": claims["sub"],
        "jti": claims["jti"],
        "exp": claims["exp"],
        "ver": claims.get("ver", 0),
    }


class StreamTokenSchema(ma.Schema):
    token = ma.fields.String(required=True)
    expiresIn = ma.fields.Integer(required=True, metadata={"description": "Seconds"})


@blp.route("/stream/token")
class StreamToken(MethodView):
    @blp.authenticated
    @blp.response(200, StreamTokenSchema)
    @blp.doc(
        description="`GET /api/stream` sends the caller's frames as Server-Sent Events "
        "(bearer header, or this token as `?token=`, since EventSource sends no headers; "
        "`Last-Event-ID` or `?since=` resumes; `?presence=1` adds presence changes)."
    )
    def post(self):
        """A token for `GET /api/stream?token=`, valid STREAM_TOKEN_TTL seconds"""
        token = _serializer().dumps(_token_claims(get_jwt()))
        return {"token": token, "expiresIn": current_app.config["STREAM_TOKEN_TTL"]}


def _authenticate():
    """`(user, claims)` of the bearer access token, or of the `?token=` stream token."""
    stream_token = request.args.get("token")
    if stream_token is None:
        verify_jwt_in_request(locations=["headers"])
        return current_user, _token_claims(get_jwt())
    try:
        claims = _serializer().loads(stream_token, max_age=current_app.config["STREAM_TOKEN_TTL"])
    except BadSignature:  # (SignatureExpired included)
        raise Unauthorized("The stream token is not valid, or has expired.") from None
    if tokens.is_revoked({"type": "access", **claims}):
        raise Unauthorized("The token has been revoked.")
    user = User.by_id(claims["sub"])
    if user is None:
        raise Unauthorized("The user of this token no longer exists.")
    return user, claims


# (app.openapi's ERROR; that module reads realtime's frames, so realtime does not import it.)
ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
STREAM_RESPONSES = {
    "200": {
        "description": "One event per frame: `id` (notifications and messages), `event` "
        "(the frame's type), `data` (its JSON); comments keep the stream alive",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    "400": {"description": "`since` (or Last-Event-ID) is not an id", "content": ERROR},
    "406": {"description": "The request does not accept text/event-stream", "content": ERROR},
}


@blp.route("/stream")
class Stream(MethodView):
    @blp.doc(
        security=[{"bearerAuth": []}, {}],  # or `?token=` from POST /api/stream/token
        parameters=[
            {"name": "token", "in": "query", "schema": {"type": "string"}},
            {"name": "since", "in": "query", "schema": {"type": "string"}},
            {"name": "presence", "in": "query", "schema": {"type": "boolean"}},
            {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}},
        ],
        responses=STREAM_RESPONSES,
    )
    def get(self):
        """The caller's frames as Server-Sent Events (send Accept: text/event-stream)"""
        # An endless answer only for those who asked for one (EventSource always does).
        if "text/event-stream" not in request.headers.get("Accept", ""):
            raise NotAcceptable("Send `Accept: text/event-stream` for the event stream.")
        user, claims = _authenticate()
        since = request.headers.get("Last-Event-ID") or request.args.get("since")
        if since is not None and not is_uuid(since):
            raise HeraldError("`since` (or Last-Event-ID) must be a notification id.")
        watch = request.args.get("presence", "").lower() in ("1", "true", "yes")
        config, node = current_app.config, current_node()
        session = StreamSession(
            user.id,
            claims={k: claims[k] for k in ("jti", "exp", "ver")},
            max_queue=config["WS_SEND_QUEUE_SIZE"],
        )
        events = _events(node, session, user.username, since, watch, config)
        response = Response(stream_with_context(events), mimetype="text/event-stream")
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
        return response


class NotAcceptable(HeraldError):
    status_code = 406


def _events(node, session, username, since, watch, config):
    """The stream: attached first, then what was missed, then what comes live."""
    if node.hub.attach(session):
        _presence(node, presence.mark_online, session.user_id, username=username, connected=True)
    if watch:
        node.hub.watch_presence(session)
    try:
        yield f"retry: {int(config['STREAM_RETRY_MS'])}\n\n"
        sent = set()
        for event_id, text in _backlog(node, session.user_id, since, config):
            sent.add(event_id)
            yield _event(event_id, text)
        floor = (since or "").lower()
        while not session.closed:
            try:
                event_id, payload = session.queue.get(timeout=config["STREAM_KEEPALIVE_INTERVAL"])
            except queue.Empty:
                yield ": keep-alive\n\n"
                continue
            if payload is _CLOSED:
                break
            if event_id is not None and (event_id <= floor or event_id in sent):
                continue  # sent from the backlog already
            yield _event(event_id, payload.decode())
    finally:
        session.closed = True
        if node.hub.detach(session):
            _presence(node, presence.mark_offline, session.user_id)


def _backlog(node, user_id, since, config):
    """`(id, frame text)` of what was published after `since`, oldest first."""
    if not since:
        return []
    common = {
        "user_id": user_id,
        "since": since,
        "limit": config["WS_RESUME_LIMIT"],
        "outbox": node.outbox,
        "publish_wait": config["WS_RESUME_WAIT"],
    }
    try:
        missed, _ = notifications.missed_since(**common)
        messages, _ = conversations.missed_since(**{**common, "since": since.lower()})
    except (HeraldError, *DATABASE_ERRORS) as error:
        logger.warning("Event stream of %s resumed without its backlog: %s", user_id, error)
        return []
    frames = [(n.id, protocol.notification(n)) for n in missed]
    frames += [(m.id, protocol.message(m, for_user=user_id)) for m in messages]
    return [(event_id, frame.text) for event_id, frame in sorted(frames, key=lambda f: f[0])]


def _event(event_id, text):
    """One SSE event: named by the frame's type, its JSON as data (one line)."""
    kind = json.loads(text).get("type", "message")
    lines = [f"id: {event_id}"] if event_id else []
    lines += [f"event: {kind}", f"data: {text}"]
    return "\n".join(lines) + "\n\n"


def _presence(node, change, user_id, **known):
    try:
        change(node.instance_id, user_id)
    except DATABASE_ERRORS:
        logger.warning("Presence not stored for %s; the heartbeat repairs it", user_id)
        return
    node.announce.presence(user_id, **known)
