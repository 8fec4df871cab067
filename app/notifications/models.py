"""Stored notifications and idempotency records."""

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
    created_at = me.DateTimeField(required=True, default=now)

    meta = {
        "collection": "notifications",
        "indexes": [("user_id", "-id"), ("user_id", "read")],
    }


class OutboxEntry(me.Document):
    """A notification still to be published.

    Kept apart from the notification so the relay never writes to documents
    users are marking read (and its queries stay on a small collection). It is
    written before the notification, so a notification never exists unannounced.
    """

    id = me.StringField(primary_key=True)  # the notification's id
    publisher = me.StringField(required=True)  # the instance whose relay publishes it
    # Where it is to be published: only a relay of the same topic may take it over
    # (instances of another deployment can share the database, tests do).
    topic = me.StringField()
    created_at = me.DateTimeField(required=True, default=now)

    meta = {"collection": "outbox", "indexes": ["publisher"]}


class IdempotencyRecord(me.Document):
    """The first outcome of a request sent with an `Idempotency-Key`."""

    id = me.StringField(primary_key=True)  # "<sender id>:<key>"
    fingerprint = me.StringField(required=True)
    notification_id = me.StringField()
    created_at = me.DateTimeField(required=True, default=now)

    meta = {"collection": "idempotency_keys", "indexes": ["created_at"]}
