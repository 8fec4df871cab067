"""Stored Web Push state: each browser's subscription, and each push attempted."""

import mongoengine as me

from app.clock import now
from app.ids import new_id


class PushSubscription(me.Document):
    """A browser's `PushSubscription`: where to push and the keys to encrypt for it."""

    id = me.StringField(primary_key=True, default=new_id)
    user_id = me.StringField(required=True)
    # A push service's URL names one browser profile: one user's at a time.
    endpoint = me.StringField(required=True, unique=True)
    p256dh = me.StringField(required=True)  # base64url, the browser's P-256 public key
    auth = me.StringField(required=True)  # base64url, the 16-byte auth secret
    expiration_time = me.IntField(null=True)  # ms since the epoch, as the browser gives it
    created_at = me.DateTimeField(required=True, default=now)
    updated_at = me.DateTimeField(required=True, default=now)

    meta = {"collection": "push_subscriptions", "indexes": ["user_id"]}

    def as_webpush_info(self):
        """The `subscription_info` pywebpush takes."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class PushSend(me.Document):
    """One notification pushed to one subscription, recorded before the request goes out.

    `sending` is written first, so a sender killed mid-request never pushes the same
    notification to that subscription again (at most once, as for email); `failed`
    (a 429, a 5xx, a network error) is the only state a retry sends again.
    """

    SENDING, SENT, FAILED, GONE = "sending", "sent", "failed", "gone"

    id = me.StringField(primary_key=True)  # "<notification id>:<subscription id>"
    notification_id = me.StringField(required=True)
    subscription_id = me.StringField(required=True)
    user_id = me.StringField(required=True)
    status = me.StringField(required=True, choices=(SENDING, SENT, FAILED, GONE))
    attempts = me.IntField(required=True, default=1)
    error = me.StringField(null=True)
    created_at = me.DateTimeField(required=True, default=now)
    updated_at = me.DateTimeField(required=True, default=now)

    meta = {"collection": "push_sends", "indexes": ["notification_id", "user_id", "created_at"]}

    @staticmethod
    def key(notification_id, subscription_id):
        return f"{notification_id}:{subscription_id}"
