"""The email channel's consumer side: decide, and record, what is to be emailed.

For each new notification: nothing if its recipient turned email off for it
(`skipped`), else a pending delivery due at once when the recipient had no
socket open, or EMAIL_DELAY seconds after it was created otherwise. The
sender (`sender`) takes it from there and skips it if it was read meanwhile.
Recording is idempotent (a notification that comes again finds its record),
and a dead delivery that comes again (only an admin's replay sends it) is made
pending once more.
"""

from datetime import timedelta

from app import presence
from app.auth.models import User
from app.channels import deliveries
from app.channels.base import Channel
from app.channels.email.sender import EmailSender
from app.clock import now
from app.notifications.models import Notification


class EmailChannel(Channel):
    name = "email"

    def __init__(self, config, broker, *, instance_id):
        super().__init__(config, broker, instance_id=instance_id)
        self.sender = EmailSender(config, broker, instance_id=instance_id)

    def start(self):
        self.sender.start()

    def stop(self):
        self.sender.stop()

    def handle(self, event):
        data = self.notification_of(event)
        if data is None:
            return
        existing = deliveries.find(data["id"], self.name)
        if existing is not None:
            if existing.status == deliveries.DEAD:
                deliveries.revive(existing)
            return
        fields = {
            "notification_id": data["id"],
            "user_id": data["userId"],
            "channel": self.name,
            "type": data.get("type"),
        }
        notification = Notification.objects(id=data["id"]).only("read", "created_at").first()
        if notification is None:
            deliveries.record(**fields, status=deliveries.SKIPPED, reason="deleted")
        elif notification.read:
            deliveries.record(**fields, status=deliveries.SKIPPED, reason="read")
        elif not User.exists(data["userId"]):
            deliveries.record(**fields, status=deliveries.SKIPPED, reason="no such user")
        elif not self.allowed(data):
            deliveries.record(**fields, status=deliveries.SKIPPED, reason="turned off")
        else:
            if presence.is_online(data["userId"]):
                due = notification.created_at + timedelta(seconds=self.config["EMAIL_DELAY"])
                due = max(due, now())
            else:
                due = now()
            window = timedelta(seconds=self.config["EMAIL_DIGEST_WINDOW"])
            deliveries.record(
                **fields, status=deliveries.PENDING, due_at=due, send_after=due + window
            )
