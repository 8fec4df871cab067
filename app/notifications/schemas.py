"""Request and response bodies of the notifications API."""

import json

import marshmallow as ma
from flask import current_app
from marshmallow import validate

from app.pagination import PageArgsSchema, page_schema


class NotificationSchema(ma.Schema):
    """A notification as REST and the WebSocket show it."""

    id = ma.fields.String(required=True)
    userId = ma.fields.String(attribute="user_id", required=True)
    senderId = ma.fields.String(attribute="sender_id", required=True)
    message = ma.fields.String(required=True)
    type = ma.fields.String(allow_none=True)
    data = ma.fields.Dict(allow_none=True)
    read = ma.fields.Boolean(required=True)
    readAt = ma.fields.DateTime(attribute="read_at", allow_none=True)
    createdAt = ma.fields.DateTime(attribute="created_at", required=True)
    editedAt = ma.fields.DateTime(attribute="edited_at", allow_none=True)


INT64 = range(-(2**63), 2**63)
MESSAGE_LENGTH = validate.Length(min=1, max=2000)  # the model's max_length


def data_within_limit(data):
    """`data` must encode to at most NOTIFICATION_DATA_MAX_BYTES of JSON, and JSON has no NaN."""
    limit = current_app.config["NOTIFICATION_DATA_MAX_BYTES"]
    try:
        encoded = json.dumps(data, separators=(",", ":"), allow_nan=False)
    except ValueError:  # Python's parser accepts NaN and Infinity; clients' parsers do not
        raise ma.ValidationError("Numbers must be finite (JSON has no NaN or Infinity).") from None
    if len(encoded.encode()) > limit:
        raise ma.ValidationError(f"Must encode to at most {limit} bytes of JSON.")


def data_storable(data):
    """What the database can store, at any depth: keys without `.`, a leading `$` or NUL,
    integers of at most 8 bytes, and no array directly inside an array."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            for key in value:
                if "." in key or key.startswith("$") or "\0" in key:
                    raise ma.ValidationError(
                        f"Key {key[:40]!r}: keys may not contain '.' or NUL or start with '$'."
                    )
            pending.extend(value.values())
        elif isinstance(value, list):
            if any(isinstance(item, list) for item in value):
                # FerretDB, the database Herald is built on, stores no arrays of arrays.
                raise ma.ValidationError(
                    "Arrays may not hold arrays directly; wrap them in objects."
                )
            pending.extend(value)
        elif isinstance(value, int) and value not in INT64:
            raise ma.ValidationError("Integers must fit in 8 bytes (-2**63 to 2**63 - 1).")


def recipients_within_limit(user_ids):
    """A broadcast names between one and BROADCAST_MAX_RECIPIENTS users."""
    limit = current_app.config["BROADCAST_MAX_RECIPIENTS"]
    if not 1 <= len(user_ids) <= limit:
        raise ma.ValidationError(f"Name between 1 and {limit} recipients.")


class NotificationContentSchema(ma.Schema):
    message = ma.fields.String(required=True, validate=MESSAGE_LENGTH)
    type = ma.fields.String(validate=validate.Length(min=1, max=64))
    data = ma.fields.Dict(
        validate=[data_within_limit, data_storable],
        metadata={
            "description": "Small JSON object, at most 4 KB encoded; keys may not "
            "contain '.' or start with '$'"
        },
    )


class NotificationCreateSchema(NotificationContentSchema):
    """To one user (`userId`), a topic's subscribers or a user's followers."""

    userId = ma.fields.String(metadata={"description": "The recipient's id"})
    topic = ma.fields.String(metadata={"description": "Every subscriber of this topic"})
    followersOf = ma.fields.String(
        attribute="followers_of",
        metadata={"description": "Every follower of this user (themself or an admin)"},
    )
    includeSender = ma.fields.Boolean(
        attribute="include_sender",
        load_default=False,
        metadata={"description": "To an audience: the sender too, if a member"},
    )

    @ma.validates_schema
    def one_recipient(self, data, **kwargs):
        given = [name for name in ("userId", "topic", "followers_of") if data.get(name)]
        if len(given) != 1:
            raise ma.ValidationError("Give exactly one of userId, topic or followersOf.", "userId")


class BroadcastSchema(NotificationContentSchema):
    userIds = ma.fields.List(
        ma.fields.String(),
        validate=recipients_within_limit,
        metadata={"description": "Recipients, at most BROADCAST_MAX_RECIPIENTS"},
    )
    all = ma.fields.Boolean(load_default=False, metadata={"description": "Send to every user"})

    @ma.validates_schema
    def recipients(self, data, **kwargs):
        if bool(data.get("userIds")) == bool(data.get("all")):
            raise ma.ValidationError("Give either userIds or all=true.", "userIds")


class BroadcastResultSchema(ma.Schema):
    count = ma.fields.Integer(required=True, metadata={"description": "Notifications created"})


class NotificationQuerySchema(PageArgsSchema):
    read = ma.fields.Boolean(metadata={"description": "Only read (true) or unread (false) ones"})


NotificationPageSchema = page_schema(NotificationSchema)


class NotificationEditSchema(ma.Schema):
    """A sender's edit: a new `message`, new `data` (null removes it), or both."""

    message = ma.fields.String(validate=MESSAGE_LENGTH)
    data = ma.fields.Dict(
        allow_none=True,
        validate=[data_within_limit, data_storable],
        metadata={"description": "As when sending; null removes it"},
    )

    @ma.validates_schema
    def something_to_change(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Give a new message, new data, or both.", "message")


class ReadAllSchema(ma.Schema):
    upTo = ma.fields.String(
        attribute="up_to",
        metadata={
            "description": "Only those up to this notification id (the newest the client "
            "shows), so one arriving meanwhile stays unread; default: the newest now"
        },
    )


class MarkReadSchema(ma.Schema):
    read = ma.fields.Boolean(load_default=True, metadata={"description": "false marks it unread"})


class CountSchema(ma.Schema):
    count = ma.fields.Integer(required=True)


NOTIFICATION = NotificationSchema()


class IdempotencyHeaderSchema(ma.Schema):
    idempotency_key = ma.fields.String(
        data_key="Idempotency-Key",
        validate=validate.Length(min=1, max=255),
        metadata={
            "description": "Repeat a request safely: the same key from the same sender "
            "returns the first result and creates nothing new. Keys are remembered for "
            "IDEMPOTENCY_KEY_TTL (a day by default); after that a key is a new request."
        },
    )
