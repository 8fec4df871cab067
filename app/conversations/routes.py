"""Conversation endpoints: thin views over `app.conversations.service`."""

from flask import current_app
from flask.views import MethodView
from flask_jwt_extended import current_user

from app import ratelimit
from app.conversations import schemas, service
from app.errors import ErrorSchema
from app.extensions import current_node
from app.notifications.schemas import IdempotencyHeaderSchema
from app.pagination import PageArgsSchema, page_schema
from app.security import Blueprint

blp = Blueprint(
    "conversations", __name__, url_prefix="/api/conversations", description="Direct messages"
)
ConversationPageSchema = page_schema(schemas.ConversationSchema)


@blp.route("")
class Conversations(MethodView):
    @blp.authenticated
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, ConversationPageSchema)
    def get(self, query):
        """The caller's conversations, newest activity first"""
        items, meta = service.list_conversations(user_id=current_user.id, **query)
        return {"items": items, "meta": meta}


@blp.route("/<user_id>/messages")
class Messages(MethodView):
    @blp.authenticated
    @blp.arguments(schemas.HistoryQuerySchema, location="query")
    @blp.response(200, schemas.HistorySchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such user")
    def get(self, query, user_id):
        """Messages with a user, oldest first; `before` / `after` a message id page back or on"""
        items, meta = service.history(user_id=current_user.id, other_id=user_id, **query)
        return {"items": items, "meta": meta}

    @blp.authenticated
    @blp.arguments(schemas.MessageCreateSchema)
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.response(201, schemas.MessageSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="The recipient blocked the caller")
    @blp.alt_response(404, schema=ErrorSchema, description="No such user")
    @blp.alt_response(429, schema=ErrorSchema, description="Sending too fast")
    def post(self, body, headers, user_id):
        """Message a user; every socket of both gets `{"type": "message", ...}`"""
        ratelimit.hit(current_app, "notify_per_sender", current_user.id)
        message, replayed = service.send_message(
            sender_id=current_user.id,
            recipient_id=user_id,
            text=body["text"],
            idempotency_key=headers.get("idempotency_key"),
            key_ttl=current_app.config["IDEMPOTENCY_KEY_TTL"],
            outbox=current_node().outbox,
        )
        if replayed:
            return message, 201, {"Idempotent-Replayed": "true"}
        return message


@blp.route("/<user_id>/read")
class Read(MethodView):
    @blp.authenticated
    @blp.arguments(schemas.ReadSchema)
    @blp.response(200, schemas.ReadResultSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such user or message")
    def put(self, body, user_id):
        """Mark the messages from a user read up to `upTo`; they get `message.read`"""
        count, newest = service.mark_read(
            user_id=current_user.id,
            other_id=user_id,
            up_to=body["up_to"],
            outbox=current_node().outbox,
        )
        return {"count": count, "up_to": newest.id if newest else None}
