"""The email sender: claims due deliveries under a lease, and emails them, once.

Every EMAIL_POLL_INTERVAL it looks for users with a delivery whose
`send_after` has come (due, plus EMAIL_DIGEST_WINDOW so that what falls due
meanwhile joins it), and for each claims every pending delivery of that user
due by now, atomically, under a new batch id and a lease of EMAIL_LEASE
seconds. That claim is the record before the send: the batch id is saved on
the deliveries, then the email goes out with a Message-ID made of it, then they
are marked `sent`. Before sending, notifications read (or deleted) meanwhile
are skipped: a read notification is never emailed.

A sender killed before the server accepted the email leaves its batch
claimed; once the lease runs out another sender (or the same one restarted)
takes the same batch over and sends it, with the same Message-ID, so nothing is
lost. The one window left: a sender killed after the server accepted the email
and before the deliveries were marked sent (a database write, milliseconds)
sends that email again, with the same Message-ID, so mail systems and people
can recognise it as the same message. SMTP does not let a client do better
(accepting is the server's last word; there is no two-phase commit).

A failed send (server down, 4xx or 5xx) makes the deliveries `failed` and due
again EMAIL_RETRY_BASE_DELAY * 2**(attempts-1) later; after EMAIL_MAX_ATTEMPTS
they are `dead` and dead-lettered, with the channel named, for an admin to
replay.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

from mongoengine import Q

from app.auth.models import User
from app.brokers import Message
from app.channels import deliveries, preferences
from app.channels.deliveries import Delivery
from app.channels.email import compose, smtp
from app.clock import now
from app.concurrency import BackgroundLoop
from app.database import DATABASE_ERRORS
from app.delivery import dead_letters, events
from app.ids import new_id
from app.notifications.models import Notification
from app.notifications.schemas import NOTIFICATION as NOTIFICATION_SCHEMA

logger = logging.getLogger(__name__)

CHANNEL = "email"
USERS_PER_ROUND = 100


class EmailSender(BackgroundLoop):
    name = "herald-email-sender"
    transient_errors = DATABASE_ERRORS  # (SMTP errors are the deliveries' own, see _failed)

    def __init__(self, config, broker, *, instance_id):
        super().__init__(config["EMAIL_POLL_INTERVAL"])
        self.config, self.broker, self.instance_id = config, broker, instance_id
        self.smtp = smtp.parse(config["SMTP_URL"])
        self.owner = f"{instance_id}-{new_id()[-8:]}"
        # Threads, or greenlets under gevent (whose threading is patched).
        self._pool = ThreadPoolExecutor(max(1, config["EMAIL_SENDER_CONCURRENCY"]))

    def work(self) -> bool:
        return self.run_once()

    def run_once(self) -> bool:
        """Send what is due, EMAIL_SENDER_CONCURRENCY emails at a time; True when there was some.

        Each email is mostly waiting (database round trips, the SMTP exchange), so
        several go at once; claims are atomic, so they never overlap.
        """
        if self._stopped:
            return False
        work = [partial(self._send_batch, b) for b in self._stale_batches()]
        work += [partial(self._claim_and_send, u) for u in self._due_users()]
        return any(list(self._pool.map(lambda job: job(), work)))

    def _claim_and_send(self, user_id) -> bool:
        if self._stopped:
            return False
        batch_id = self._claim_user(user_id)
        return batch_id is not None and self._send_batch(batch_id)

    def _lease(self):
        return now() + timedelta(seconds=self.config["EMAIL_LEASE"])

    def _stale_batches(self):
        """Batches claimed by a sender that stopped renewing (killed mid-send): taken over."""
        stale = Delivery.objects(
            channel=CHANNEL, status=deliveries.SENDING, lease_until__lt=now()
        ).distinct("batch_id")
        taken = []
        for batch_id in stale[:USERS_PER_ROUND]:
            claimed = Delivery.objects(
                batch_id=batch_id, status=deliveries.SENDING, lease_until__lt=now()
            ).update(set__lease_owner=self.owner, set__lease_until=self._lease(), inc__attempts=1)
            if claimed:
                logger.warning("Taking over email batch %s from a sender that stopped", batch_id)
                taken.append(batch_id)
        return taken

    def _due_users(self):
        due = Delivery.objects(
            channel=CHANNEL,
            status__in=[deliveries.PENDING, deliveries.FAILED],
            send_after__lte=now(),
        ).distinct("user_id")
        return due[:USERS_PER_ROUND]

    def _claim_user(self, user_id):
        """Claim every delivery of `user_id` due by now under a new batch; its id or None."""
        moment = now()
        # Everything due joins the digest, but a failed one waits out its backoff.
        ready = Q(status=deliveries.PENDING, due_at__lte=moment) | Q(
            status=deliveries.FAILED, send_after__lte=moment
        )
        ids = list(Delivery.objects(ready, user_id=user_id, channel=CHANNEL).scalar("id"))
        if not ids:
            return None
        batch_id = new_id()
        # Each delivery moves from pending to sending once: a sender racing us claims
        # none of those we got.
        claimed = Delivery.objects(
            id__in=ids, status__in=[deliveries.PENDING, deliveries.FAILED]
        ).update(
            set__status=deliveries.SENDING,
            set__batch_id=batch_id,
            set__lease_owner=self.owner,
            set__lease_until=self._lease(),
            set__updated_at=moment,
            inc__attempts=1,
        )
        return batch_id if claimed else None

    def _send_batch(self, batch_id) -> bool:
        batch = list(
            Delivery.objects(
                batch_id=batch_id, status=deliveries.SENDING, lease_owner=self.owner
            ).order_by("notification_id")
        )
        if not batch:
            return False
        notifications = {
            n.id: n for n in Notification.objects(id__in=[d.notification_id for d in batch])
        }
        user = User.by_id(batch[0].user_id)
        keep = []
        for delivery in batch:
            notification = notifications.get(delivery.notification_id)
            reason = None
            if notification is None or user is None:
                reason = "deleted"
            elif notification.read:
                reason = "read"
            elif not preferences.allows(user.id, CHANNEL, notification.type, self.config):
                reason = "turned off"
            if reason:
                self._mark(delivery, status=deliveries.SKIPPED, reason=reason)
            else:
                keep.append(delivery)
        if not keep:
            return True
        shown = [NOTIFICATION_SCHEMA.dump(notifications[d.notification_id]) for d in keep]
        senders = {
            u.id: u.display_name or u.username
            for u in User.objects(id__in=list({n["senderId"] for n in shown})).only(
                "username", "display_name"
            )
        }
        message = compose.compose(
            self.config, batch_id=batch_id, user=user, notifications=shown, senders=senders
        )
        try:
            smtp.send(self.smtp, message, timeout=self.config["SMTP_TIMEOUT"])
        except smtp.SEND_ERRORS as error:
            self._failed(keep, notifications, error)
            return True
        moment = now()
        Delivery.objects(id__in=[d.id for d in keep], batch_id=batch_id).update(
            set__status=deliveries.SENT,
            set__sent_at=moment,
            set__updated_at=moment,
            set__message_id=message["Message-ID"],
            unset__error=True,
            unset__lease_until=True,
        )
        logger.info("Emailed %d notification(s) to %s", len(keep), user.id)
        return True

    def _mark(self, delivery, **fields):
        Delivery.objects(id=delivery.id).update_one(
            **{f"set__{k}": v for k, v in fields.items()},
            set__updated_at=now(),
            unset__lease_until=True,
        )

    def _failed(self, batch, notifications, error):
        description = f"{type(error).__name__}: {error}"[:2000]
        for delivery in batch:
            if delivery.attempts >= self.config["EMAIL_MAX_ATTEMPTS"]:
                logger.error(
                    "Giving up emailing %s after %d attempts: %s",
                    delivery.notification_id,
                    delivery.attempts,
                    description,
                )
                self._dead_letter(delivery, notifications[delivery.notification_id], description)
                self._mark(delivery, status=deliveries.DEAD, error=description)
            else:
                retry = deliveries.retry_at(
                    delivery.attempts, self.config["EMAIL_RETRY_BASE_DELAY"]
                )
                logger.warning(
                    "Emailing %s failed (%s); attempt %d at %s",
                    delivery.notification_id,
                    description,
                    delivery.attempts + 1,
                    retry.isoformat(),
                )
                self._mark(delivery, status=deliveries.FAILED, error=description, send_after=retry)

    def _dead_letter(self, delivery, notification, error):
        message = Message(
            topic=self.config["BROKER_TOPIC"],
            value=events.encode(notification),
            key=delivery.user_id,
        )
        dead_letters.record(
            message,
            error=error,
            attempts=delivery.attempts,
            instance_id=self.instance_id,
            letter_id=new_id(),
            channel=CHANNEL,
        )
        try:  # for operators' own tools; the record above is what the admin API shows
            self.broker.publish(
                self.config["BROKER_DEAD_LETTER_TOPIC"],
                message.value,
                key=message.key,
                headers=dead_letters.dead_letter_headers(
                    message, error=error, attempts=delivery.attempts, channel=CHANNEL
                ),
            )
        except self.broker.connection_errors:
            logger.warning("Could not publish the dead letter of %s", delivery.notification_id)
