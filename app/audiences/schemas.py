"""Request and response bodies of the topics and fan-out API."""

import marshmallow as ma
from marshmallow import validate

from app.pagination import PageArgsSchema


class TopicCreateSchema(ma.Schema):
    key = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "1-64 lowercase letters, digits, '.', '_' or '-'"},
    )
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))


class TopicSchema(ma.Schema):
    key = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    ownerId = ma.fields.String(attribute="owner_id", required=True)
    createdAt = ma.fields.DateTime(attribute="created_at", required=True)
    subscriberCount = ma.fields.Integer(attribute="subscriber_count", required=True)
    subscribed = ma.fields.Boolean(required=True, metadata={"description": "The caller is"})


class TopicQuerySchema(PageArgsSchema):
    subscribed = ma.fields.Boolean(metadata={"description": "Only those the caller is (not) in"})


class UserIdsSchema(ma.Schema):
    userIds = ma.fields.List(
        ma.fields.String(),
        attribute="user_ids",
        required=True,
        validate=validate.Length(min=1, max=1000),
    )


class SubscriberSchema(ma.Schema):
    id = ma.fields.String(required=True)
    username = ma.fields.String(required=True)
    since = ma.fields.DateTime(required=True)


class FanoutSchema(ma.Schema):
    """One notification to an audience, and how far it got."""

    id = ma.fields.String(required=True)
    audience = ma.fields.String(required=True, metadata={"description": "topic or followers"})
    audienceRef = ma.fields.String(attribute="audience_ref", required=True)
    state = ma.fields.String(required=True, metadata={"description": "running or done"})
    total = ma.fields.Integer(required=True, metadata={"description": "Members when accepted"})
    written = ma.fields.Integer(required=True, metadata={"description": "Inboxes written"})
    delivered = ma.fields.Integer(
        required=True,
        metadata={"description": "Of those, handed to the broker for live delivery"},
    )
    createdAt = ma.fields.DateTime(attribute="created_at", required=True)
    finishedAt = ma.fields.DateTime(attribute="finished_at", allow_none=True)
