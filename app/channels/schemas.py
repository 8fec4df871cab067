"""Request and response bodies of the channels' API: preferences and the delivery log."""

import marshmallow as ma
from marshmallow import validate


class OnOff(ma.fields.Boolean):
    """JSON true or false, nothing else (marshmallow's Boolean also takes 0, "no"...)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


ON_OFF = OnOff()
NAME = ma.fields.String(validate=validate.Length(min=1, max=64))


class PreferencesSchema(ma.Schema):
    """Channels on or off, and types on or off per channel; a PUT may give only some."""

    channels = ma.fields.Dict(
        keys=NAME,
        values=ON_OFF,
        metadata={"description": 'Per channel, e.g. {"email": false}', "example": {"email": True}},
    )
    types = ma.fields.Dict(
        keys=NAME,
        values=ma.fields.Dict(keys=NAME, values=ON_OFF),
        metadata={
            "description": "Per channel, per notification type (NOTIFICATION_TYPES)",
            "example": {"email": {"message": False}},
        },
    )


class DeliverySchema(ma.Schema):
    channel = ma.fields.String(required=True)
    status = ma.fields.String(
        attribute="shown_status",
        required=True,
        metadata={"enum": ["pending", "sent", "skipped", "failed", "dead"]},
    )
    reason = ma.fields.String(allow_none=True, metadata={"description": "Why it was skipped"})
    error = ma.fields.String(allow_none=True, metadata={"description": "The last failure"})
    attempts = ma.fields.Integer(required=True)
    dueAt = ma.fields.DateTime(attribute="due_at", allow_none=True)
    createdAt = ma.fields.DateTime(attribute="created_at", required=True)
    updatedAt = ma.fields.DateTime(attribute="updated_at", required=True)
    sentAt = ma.fields.DateTime(attribute="sent_at", allow_none=True)


class DeliveryListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DeliverySchema), required=True)
