"""Stored notifications (idempotency records are `app.idempotency`'s, the outbox is
`app.delivery.outbox`)."""

import mongoengine as me

from app.clock import now
from app.ids import new_id


class Notification(me.Document):
    """One message for one user. `_id` is a UUIDv7, so it sorts by creation."""

    id = me.StringField(primary_key=True, default=new_id)
    user_id = me.StringField(required=True)
    sender_id = me.StringField(required=True)
    message = me.StringField(required=True, max_length=2000)
    type = me.StringField(max_length=64)
    data = me.DictField(default=None, null=True)
    read = me.BooleanField(required=True, default=False)
    read_at = me.DateTimeField()
    edited_at = me.DateTimeField()  # by its sender, last
    created_at = me.DateTimeField(required=True, default=now)

    meta = {
        "collection": "notifications",
        "indexes": [("user_id", "-id"), ("user_id", "read")],
    }
