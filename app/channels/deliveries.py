"""The delivery log: one durable record per (notification, channel), written before sending.

A channel records what it will do with a notification before doing it, so a
sender that dies mid-way leaves a record the next one takes over, and a
notification that comes again finds its record and is not sent twice. The
API shows `status` as `pending` (waiting, or being sent), `sent`, `skipped`
(with `reason`), `failed` (the last attempt failed; another is due) or `dead`
(given up, dead-lettered: an admin's replay makes it pending again).
"""

from datetime import timedelta

import mongoengine as me

from app.clock import now
from app.errors import NotFound
from app.ids import is_uuid
from app.notifications.models import Notification

PENDING, SENDING, SENT, SKIPPED, FAILED, DEAD = (
    "pending",
    "sending",
    "sent",
    "skipped",
    "failed",
    "dead",
)
STATUSES = (PENDING, SENDING, SENT, SKIPPED, FAILED, DEAD)
# What the API shows: a claimed delivery is still pending to the person asking.
SHOWN_STATUS = {SENDING: PENDING}


class Delivery(me.Document):
    id = me.StringField(primary_key=True)  # "<notification id>:<channel>"
    notification_id = me.StringField(required=True)
    user_id = me.StringField(required=True)
    channel = me.StringField(required=True)
    type = me.StringField()
    status = me.StringField(required=True, choices=STATUSES)
    reason = me.StringField()  # why skipped
    error = me.StringField()  # the last failure
    attempts = me.IntField(required=True, default=0)
    due_at = me.DateTimeField()  # from when it may go (email: now, or after EMAIL_DELAY)
    send_after = me.DateTimeField()  # when a sender takes it (due, digest window, backoff)
    batch_id = me.StringField()  # the email carrying it; its Message-ID is made of this
    lease_owner = me.StringField()
    lease_until = me.DateTimeField()
    message_id = me.StringField()
    created_at = me.DateTimeField(required=True, default=now)
    updated_at = me.DateTimeField(required=True, default=now)
    sent_at = me.DateTimeField()

    meta = {
        "collection": "deliveries",
        "indexes": [
            ("channel", "status", "send_after"),
            ("user_id", "channel", "status"),
            "notification_id",
            "batch_id",
        ],
    }

    @property
    def shown_status(self):
        return SHOWN_STATUS.get(self.status, self.status)


def delivery_id(notification_id: str, channel: str) -> str:
    return f"{notification_id}:{channel}"


def find(notification_id: str, channel: str) -> Delivery | None:
    return Delivery.objects(id=delivery_id(notification_id, channel)).first()


def record(
    *, notification_id, user_id, channel, type, status, reason=None, due_at=None, send_after=None
) -> Delivery:
    """The record of (notification, channel), created now unless it exists (then unchanged)."""
    moment = now()
    Delivery.objects(id=delivery_id(notification_id, channel)).update_one(
        upsert=True,
        set_on_insert__notification_id=notification_id,
        set_on_insert__user_id=user_id,
        set_on_insert__channel=channel,
        set_on_insert__type=type,
        set_on_insert__status=status,
        set_on_insert__reason=reason,
        set_on_insert__attempts=0,
        set_on_insert__due_at=due_at,
        set_on_insert__send_after=send_after,
        set_on_insert__created_at=moment,
        set_on_insert__updated_at=moment,
    )
    return find(notification_id, channel)


def revive(delivery: Delivery) -> None:
    """A dead delivery made pending again, due now (an admin replayed its dead letter)."""
    moment = now()
    Delivery.objects(id=delivery.id, status=DEAD).update_one(
        set__status=PENDING,
        set__attempts=0,
        set__due_at=moment,
        set__send_after=moment,
        unset__batch_id=True,
        unset__error=True,
        set__updated_at=moment,
    )


def of_notification(notification_id: str) -> list[Delivery]:
    return list(Delivery.objects(notification_id=notification_id).order_by("channel"))


def log_of(notification_id: str, *, user_id: str, is_admin: bool) -> list[Delivery]:
    """A notification's deliveries, for its recipient or an admin; anyone else gets the
    404 of a notification that does not exist (as the notifications API answers)."""
    query = Notification.objects(id=notification_id) if is_uuid(notification_id) else None
    if query is not None and not is_admin:
        query = query.filter(user_id=user_id)
    if query is None or query.only("id").first() is None:
        raise NotFound("No such notification.")
    return of_notification(notification_id)


def retry_at(attempts: int, base_delay: float):
    return now() + timedelta(seconds=base_delay * 2 ** max(0, attempts - 1))


def delete_deliveries_of(_app, *, user_id: str) -> None:
    Delivery.objects(user_id=user_id).delete()
