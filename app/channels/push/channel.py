"""The push channel: each new notification pushed to its recipient's devices.

The channel framework (`app.channels.base`) hands it every event of the stream;
for a new notification it records the delivery (`app.channels.deliveries`),
then pushes through `service.send_notification`, which skips a recipient with a
socket open (PUSH_ONLY_WHEN_OFFLINE) or without a device, and a notification
read or deleted meanwhile, and records each device's push before it goes out,
so a notification that comes again is pushed to no device twice. A push service
that fails (429, 5xx, unreachable) raises: the channel's consumer retries with
backoff and, after RETRY_MAX_ATTEMPTS, dead-letters it with the channel named;
the delivery then shows `dead` until an admin replays it.

Without VAPID_PRIVATE_KEY push is off, and a recipient without a device has nothing
to push: then nothing is attempted and nothing recorded.
"""

from app.channels import deliveries
from app.channels.base import Channel
from app.channels.deliveries import Delivery
from app.channels.push.models import PushSubscription
from app.channels.push.service import PushFailed, send_notification
from app.clock import now

DONE = (deliveries.SENT, deliveries.SKIPPED)


class PushChannel(Channel):
    name = "push"

    def handle(self, event):
        data = self.notification_of(event)
        if data is None or not self.config["VAPID_PRIVATE_KEY"]:
            return
        if not PushSubscription.objects(user_id=data["userId"]).only("id").first():
            return  # no device: nothing to push, nor to log (one query, not five)
        fields = {
            "notification_id": data["id"],
            "user_id": data["userId"],
            "channel": self.name,
            "type": data.get("type"),
        }
        existing = deliveries.find(data["id"], self.name)
        if existing is not None and existing.status in DONE:
            return  # it came again (a redelivery): handled already
        if existing is not None and existing.status == deliveries.DEAD:
            deliveries.revive(existing)  # an admin replayed its dead letter: try afresh
            existing = deliveries.find(data["id"], self.name)
        if not self.allowed(data):
            deliveries.record(**fields, status=deliveries.SKIPPED, reason="turned off")
            return
        delivery = existing or deliveries.record(**fields, status=deliveries.PENDING)
        try:
            outcome = send_notification(data, data["userId"], config=self.config)
        except PushFailed as error:
            attempts = delivery.attempts + 1
            given_up = attempts >= self.config["RETRY_MAX_ATTEMPTS"]
            self._settle(
                delivery,
                deliveries.DEAD if given_up else deliveries.FAILED,
                attempts=attempts,
                error=str(error),
            )
            raise
        if outcome.skipped:
            self._settle(delivery, deliveries.SKIPPED, reason=outcome.skipped)
        else:
            self._settle(delivery, deliveries.SENT, attempts=delivery.attempts + 1, sent_at=now())

    @staticmethod
    def _settle(delivery, status, **fields):
        Delivery.objects(id=delivery.id).update_one(
            set__status=status,
            set__updated_at=now(),
            **{f"set__{name}": value for name, value in fields.items()},
        )
