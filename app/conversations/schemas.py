"""Request and response bodies of the conversations API."""

import marshmallow as ma
from marshmallow import validate

TEXT_LENGTH = validate.Length(min=1, max=4000)  # the model's max_length


class MessageSchema(ma.Schema):
    """A message as REST and the WebSocket show it."""

    id = ma.fields.String(required=True)
    conversationId = ma.fields.String(attribute="conversation_id", required=True)
    senderId = ma.fields.String(attribute="sender_id", required=True)
    recipientId = ma.fields.String(attribute="recipient_id", required=True)
    text = ma.fields.String(required=True)
    createdAt = ma.fields.DateTime(attribute="created_at", required=True)
    readAt = ma.fields.DateTime(attribute="read_at", allow_none=True)


MESSAGE = MessageSchema()


class MessageCreateSchema(ma.Schema):
    text = ma.fields.String(required=True, validate=TEXT_LENGTH)


class HistoryQuerySchema(ma.Schema):
    before = ma.fields.String(metadata={"description": "Only messages older than this id"})
    after = ma.fields.String(metadata={"description": "Only messages newer than this id"})
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))

    @ma.validates_schema
    def one_direction(self, data, **kwargs):
        if data.get("before") and data.get("after"):
            raise ma.ValidationError("Give `before` or `after`, not both.", "before")


class HistoryMetaSchema(ma.Schema):
    hasOlder = ma.fields.Boolean(attribute="has_older", required=True)
    hasNewer = ma.fields.Boolean(attribute="has_newer", required=True)


class HistorySchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MessageSchema), required=True)
    meta = ma.fields.Nested(HistoryMetaSchema, required=True)


class PeerSchema(ma.Schema):
    id = ma.fields.String(required=True)
    username = ma.fields.String(required=True)


class ConversationSchema(ma.Schema):
    id = ma.fields.String(required=True)
    user = ma.fields.Nested(PeerSchema, required=True, metadata={"description": "The other one"})
    lastMessage = ma.fields.Nested(MessageSchema, attribute="last_message", allow_none=True)
    unreadCount = ma.fields.Integer(attribute="unread_count", required=True)


class ReadSchema(ma.Schema):
    upTo = ma.fields.String(
        attribute="up_to",
        required=True,
        metadata={"description": "Every message to the caller up to this id is read"},
    )


class ReadResultSchema(ma.Schema):
    count = ma.fields.Integer(required=True, metadata={"description": "Messages newly read"})
    upTo = ma.fields.String(attribute="up_to", allow_none=True)
