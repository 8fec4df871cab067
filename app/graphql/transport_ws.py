"""GraphQL subscriptions over WebSocket at /graphql: the graphql-transport-ws protocol.

(https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md) The client
sends `connection_init` with its access token in the payload (`token`, or
`Authorization: Bearer ...`) within GRAPHQL_WS_INIT_TIMEOUT (else 4408); a
token refused is 4403, a second init 4429, a subscribe before the ack 4401, a
duplicate id 4409, anything malformed 4400. `ping` is answered with `pong`.
A subscription operation stays until `complete`; a query or mutation sent with
`subscribe` is answered with one `next` and a `complete`.

strawberry's own subscription support is asyncio-only; this runs on flask-sock
under gevent like /ws, and the events come from the same hub
(`app.graphql.session`).
"""

import json
import logging

from flask import current_app
from flask_jwt_extended import decode_token
from graphql import (
    FieldNode,
    GraphQLError,
    OperationType,
    VariableNode,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)

from app import presence
from app.auth import tokens
from app.auth.models import User
from app.conversations import service as conversations
from app.database import DATABASE_ERRORS
from app.errors import HeraldError
from app.extensions import current_node
from app.graphql import limits
from app.graphql.context import Context
from app.graphql.errors import convert_all, extensions_of
from app.graphql.session import GraphQLSession, Subscription
from app.notifications import service as notifications
from app.realtime import wire
from app.realtime.routes import FrameBudget

logger = logging.getLogger(__name__)

PROTOCOL = "graphql-transport-ws"
# Each subscription costs an execution per event: a connection holds at most this many.
MAX_SUBSCRIPTIONS = 100


class Refused(Exception):
    """Ends the connection with a graphql-transport-ws close code."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code, self.reason = code, reason


def serve(ws, schema) -> None:
    """Run one connection until it closes."""
    wire.serialize_writes(ws)  # the writer, the reader's pongs and a close never interleave
    try:
        if ws.subprotocol != PROTOCOL:
            raise Refused(4406, "Subprotocol not acceptable")
        claims, user = _initialise(ws)
    except Refused as refused:
        ws.close(reason=refused.code, message=refused.reason)
        return
    Connection(ws, schema, claims, user).run()


def _initialise(ws):
    text = ws.receive(timeout=current_app.config["GRAPHQL_WS_INIT_TIMEOUT"])
    if text is None:
        raise Refused(4408, "Connection initialisation timeout")
    message = _message(text)
    if message.get("type") != "connection_init":
        raise Refused(4401, "Unauthorized")
    claims = _claims(message.get("payload") or {})
    user = User.by_id(claims["sub"])
    if user is None:
        raise Refused(4403, "Forbidden")
    return claims, user


def _message(text):
    try:
        message = json.loads(text)
    except (TypeError, ValueError):
        message = None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise Refused(4400, "Invalid message received")
    return message


def _claims(payload):
    """The claims of the access token in the init payload; 4403 unless valid and unrevoked."""
    token = payload.get("token") if isinstance(payload, dict) else None
    header = payload.get("Authorization") if isinstance(payload, dict) else None
    if token is None and isinstance(header, str) and header.startswith("Bearer "):
        token = header.removeprefix("Bearer ")
    try:
        claims = decode_token(token) if isinstance(token, str) else None
    except Exception:
        claims = None
    if claims is None or claims.get("type") != "access" or tokens.is_revoked(claims):
        raise Refused(4403, "Forbidden")
    return claims


class Connection:
    """An acknowledged connection: its hub session and the client's messages."""

    def __init__(self, ws, schema, claims, user):
        config = current_app.config
        self.ws, self.schema, self.config, self.node = ws, schema, config, current_node()
        self.user_id, self.username = user.id, user.username
        context = Context(user=user, claims=dict(claims))
        self.session = GraphQLSession(
            ws,
            user.id,
            claims={"jti": claims["jti"], "exp": claims["exp"], "ver": claims.get("ver", 0)},
            max_queue=config["WS_SEND_QUEUE_SIZE"],
            app=current_app._get_current_object(),
            schema=schema._schema,
            context=context,
        )
        self.rules = (*specified_rules, *limits.validation_rules(config))
        self.budget = FrameBudget(config["WS_CLIENT_FRAMES_PER_SECOND"])

    def run(self):
        ws, session = self.ws, self.session
        ws.send(json.dumps({"type": "connection_ack"}))
        session.start()
        if self.node.hub.attach(session):
            self._presence(presence.mark_online, connected=True, username=self.username)
        try:
            while (text := ws.receive()) is not None:
                if session.closed:
                    break
                if not self.budget.spend():
                    raise Refused(1008, "Too many messages; slow down")  # as at /ws
                self._handle(_message(text))
        except Refused as refused:
            session.end(refused.code, refused.reason)
        finally:
            session.stop()
            if self.node.hub.detach(session):
                self._presence(presence.mark_offline)

    def _handle(self, message):
        kind = message["type"]
        if kind == "ping":
            self.session.send({"type": "pong"})
        elif kind == "pong":
            pass
        elif kind == "connection_init":
            raise Refused(4429, "Too many initialisation requests")
        elif kind == "subscribe":
            self._subscribe(message)
        elif kind == "complete":
            self.session.subscriptions.pop(str(message.get("id")), None)
        else:
            raise Refused(4400, f"Unknown message type {kind[:40]!r}")

    def _subscribe(self, message):
        id_, payload = message.get("id"), message.get("payload")
        if not isinstance(id_, str) or not id_ or not isinstance(payload, dict):
            raise Refused(4400, "A subscribe message needs an id and a payload")
        if id_ in self.session.subscriptions:
            raise Refused(4409, f"Subscriber for {id_[:60]} already exists")
        if len(self.session.subscriptions) >= MAX_SUBSCRIPTIONS:
            error = GraphQLError(f"At most {MAX_SUBSCRIPTIONS} subscriptions per connection.")
            return self._errors(id_, [error])
        query, variables = payload.get("query"), payload.get("variables") or {}
        name = payload.get("operationName")
        if not isinstance(query, str) or not isinstance(variables, dict):
            raise Refused(4400, "The payload needs a query (and variables an object)")
        try:
            document = parse(query, max_tokens=self.config["GRAPHQL_MAX_TOKENS"])
        except GraphQLError as error:
            return self._errors(id_, [error])
        if errors := validate(self.schema._schema, document, self.rules):
            return self._errors(id_, errors)
        operation = get_operation_ast(document, name)
        if operation is None:
            return self._errors(id_, [GraphQLError("Name the operation to run.")])
        if operation.operation != OperationType.SUBSCRIPTION:
            return self._single_result(id_, query, variables, name)
        return self._start(id_, operation, document, variables, name)

    def _single_result(self, id_, query, variables, name):
        result = self.schema.execute_sync(
            query,
            variable_values=variables,
            context_value=self.session.context,
            operation_name=name,
        )
        payload = {"data": result.data}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        self.session.send({"id": id_, "type": "next", "payload": payload})
        self.session.send({"id": id_, "type": "complete"})

    def _errors(self, id_, errors):
        self.session.send(
            {"id": id_, "type": "error", "payload": [e.formatted for e in convert_all(errors)]}
        )

    def _start(self, id_, operation, document, variables, name):
        field = operation.selection_set.selections[0]
        if not isinstance(field, FieldNode):
            return self._errors(id_, [GraphQLError("Subscribe to a field directly.")])
        since = _argument(field, "since", variables)
        subscription = Subscription(
            id_,
            field=field.name.value,
            document=document,
            variables=variables,
            operation_name=name,
            since=since if isinstance(since, str) else None,
        )
        self.session.subscriptions[id_] = subscription  # attached first: nothing slips by
        if subscription.field == "presenceChanged":
            self.node.hub.watch_presence(self.session)
        try:
            backlog = self._backlog(subscription.field, since)
        except (HeraldError, *DATABASE_ERRORS) as error:
            self.session.subscriptions.pop(id_, None)
            status = getattr(error, "status_code", 503)
            message = getattr(error, "message", "The database is unavailable; try again.")
            self.session.send(
                {
                    "id": id_,
                    "type": "error",
                    "payload": [
                        {
                            "message": message,
                            "extensions": extensions_of(status, getattr(error, "errors", None)),
                        }
                    ],
                }
            )
            return
        self.session.resumed(subscription, backlog)

    def _backlog(self, field, since):
        if not since:
            return []
        common = {
            "user_id": self.user_id,
            "since": since,
            "limit": self.config["WS_RESUME_LIMIT"],
            "outbox": self.node.outbox,
            "publish_wait": self.config["WS_RESUME_WAIT"],
        }
        if field == "notificationAdded":
            return notifications.missed_since(**common)[0]
        if field == "messageAdded":
            return conversations.missed_since(**common)[0]
        return []

    def _presence(self, change, **known):
        try:
            change(self.node.instance_id, self.user_id)
        except DATABASE_ERRORS:
            logger.warning("Presence not stored for %s; the heartbeat repairs it", self.user_id)
            return
        self.node.announce.presence(self.user_id, **known)


def _argument(field: FieldNode, name: str, variables: dict):
    node = next((a.value for a in field.arguments or () if a.name.value == name), None)
    if node is None:
        return None
    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    return getattr(node, "value", None)
