"""The outbox relay: publishes saved notifications and inbox changes until the broker has them.

Requests only announce an `OutboxEntry` (`announce`) and save the notification;
this background loop publishes announced notifications, oldest first, and
deletes their entries. A broker outage just leaves entries waiting; the loop
retries with backoff, so an accepted notification is never lost. Each instance
relays its own entries at once (`saved`) and, on its periodic sweep, those of
instances that died (their heartbeat expired) once older than
OUTBOX_ORPHAN_AFTER, if meant for the same topic; a live instance's entries
stay its own however long its broker is away. An entry whose notification
never got saved (a crash between the two writes) is dropped once it is that old.

The instance that saved a notification hands it to its relay (`saved`), which
then publishes it without reading it back; notifications it was not handed (an
orphan, one saved while the relay held `HANDED_LIMIT` already) are read from
the database. Reading back cost a query per batch, and FerretDB answers an
`_id` `$in` by scanning the whole collection.

An inbox change (a notification marked read, deleted, edited...) is announced
the same way before the request applies it. The relay numbers it and reads the
state it publishes only once the request's block ended, so after the change
(`app.notifications.inbox` says why that order makes every socket converge).

`OutboxRelay` is the notifications domain's `Outbox` port
(`app.notifications.ports`): it also makes the ids, in publication order.
"""

import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from datetime import timedelta

from mongoengine.errors import NotUniqueError
from mongoengine.queryset.visitor import Q

from app import cluster, correlation, metrics
from app.brokers import Broker, OutgoingMessage
from app.clock import now
from app.concurrency import BackgroundLoop
from app.conversations import service as conversations
from app.conversations.models import Message
from app.database import DATABASE_ERRORS
from app.delivery import events, outbox
from app.delivery.ordering import PublicationOrder
from app.delivery.outbox import OutboxEntry
from app.notifications import inbox
from app.notifications.models import Notification

logger = logging.getLogger(__name__)

# Notifications kept for the relay (about 1.4 KB each plus their data): four batches,
# plenty while the broker takes them; what a long outage piles up beyond it is read back.
HANDED_LIMIT = 2_000


class OutboxRelay(BackgroundLoop):
    """Publishes one instance's outbox; the `Outbox` port its requests write through."""

    name = "herald-outbox"

    def __init__(
        self,
        broker: Broker,
        *,
        instance_id: str,
        topic: str,
        poll_interval: float,
        orphan_after: float,
        batch_size: int,
        change_retention: float,
    ) -> None:
        super().__init__(poll_interval)
        self.broker, self.instance_id, self.topic = broker, instance_id, topic
        self.orphan_after = orphan_after
        self.transient_errors = broker.connection_errors + DATABASE_ERRORS
        self.batch_size, self.change_retention = batch_size, change_retention
        self.order = PublicationOrder()
        self._handed: dict[str, Notification] = {}  # saved here and not yet published
        self._next_sweep = 0.0  # time.monotonic() of the next look for dead instances' entries

    # The Outbox port (app.notifications.ports), used by requests.

    def new_ids(self, count: int) -> contextlib.AbstractContextManager[list[str]]:
        return self.order.new_ids(count)

    def creating(self, *notification_ids: str) -> contextlib.AbstractContextManager[list[str]]:
        return self.order.creating(*notification_ids)

    def announce(
        self, ids: Sequence[str], *, kind: str | None = None, fanout_id: str | None = None
    ) -> None:
        """Write the outbox entries of notifications (`kind="message"`: messages) with
        `ids`, for this relay to publish.

        One announced already (by an earlier try of an idempotent request) stays.
        """
        request_id = correlation.current()  # kept with the entry: the relay's loop has none
        entries = [
            OutboxEntry(
                id=i,
                publisher=self.instance_id,
                topic=self.topic,
                kind=kind,
                fanout_id=fanout_id,
                request_id=request_id,
            )
            for i in ids
        ]
        try:
            OutboxEntry.objects.insert(entries, load_bulk=False)
        except NotUniqueError:
            for entry in entries:
                with contextlib.suppress(NotUniqueError):
                    entry.save(force_insert=True)

    def announce_change(
        self,
        change_id: str,
        *,
        user_id: str,
        kind: str,
        notification_id: str | None = None,
        up_to: str | None = None,
    ) -> None:
        OutboxEntry(
            id=change_id,
            publisher=self.instance_id,
            topic=self.topic,
            change=kind,
            user_id=user_id,
            notification_id=notification_id,
            up_to=up_to,
            request_id=correlation.current(),
        ).save(force_insert=True)

    def announce_receipt(self, receipt_id: str, *, reader_id: str, other_id: str) -> None:
        OutboxEntry(
            id=receipt_id,
            publisher=self.instance_id,
            topic=self.topic,
            kind=outbox.RECEIPT,
            user_id=reader_id,
            other_id=other_id,
            request_id=correlation.current(),
        ).save(force_insert=True)

    def fanout_pending(self, fanout_id: str) -> int:
        return OutboxEntry.objects(fanout_id=fanout_id).count()

    def change_applied(self) -> None:
        self.wake()

    def pending(self, notification_ids: Iterable[str]) -> set[str]:
        return outbox.pending(notification_ids)

    def wait_until_published(self, notification_ids: Iterable[str], timeout: float) -> bool:
        return outbox.wait_until_relayed(timeout, id__in=list(notification_ids))

    def saved(self, documents: Sequence[Notification | Message]) -> None:
        """Publish notifications or messages just saved by this instance, soon and without
        reading them back; each still goes out only once its outbox entry comes up, in id
        order."""
        messages = sum(isinstance(document, Message) for document in documents)
        metrics.NOTIFICATIONS_CREATED.inc(len(documents) - messages)
        metrics.MESSAGES_SENT.inc(messages)
        for document in documents[: max(HANDED_LIMIT - len(self._handed), 0)]:
            self._handed[document.id] = document
        self.wake()

    def work(self) -> bool:
        """One batch; True when it was full, so more may wait."""
        return self.relay_once() == self.batch_size

    def relay_once(self) -> int:
        """Publish one batch of announced notifications; returns how many entries it settled."""
        orphaned = now() - timedelta(seconds=self.orphan_after)
        # Never past an older id still being saved; taken before the outbox is read.
        bound = self.order.publishable_below()
        wanted = Q(publisher=self.instance_id, id__lt=bound)
        if time.monotonic() >= self._next_sweep:
            # Dead instances' entries wait OUTBOX_ORPHAN_AFTER anyway: looking for them once
            # per poll interval, not in every batch, spares a query per batch under load.
            self._next_sweep = time.monotonic() + self.poll_interval
            alive = cluster.live_instance_ids()
            wanted |= Q(
                publisher__nin=[*alive, self.instance_id],
                created_at__lt=orphaned,
                **outbox.of_topic(self.topic),
            )
        entries = list(OutboxEntry.objects(wanted).order_by("id").limit(self.batch_size))
        if len(entries) < self.batch_size:
            self._forget_handed_without_entry(bound, {e.id for e in entries})
        if not entries:
            return 0
        saved = self._saved(Notification, [e.id for e in entries if not e.change and not e.kind])
        saved.update(self._saved(Message, [e.id for e in entries if e.kind == outbox.MESSAGE]))
        prepared = self._inbox_changes([e for e in entries if e.change])
        prepared.update(self._receipts([e for e in entries if e.kind == outbox.RECEIPT]))
        messages, published = [], []
        for entry in entries:  # in id order: a notification before its marking read
            if entry.id in prepared:
                messages.extend(prepared[entry.id])
            elif entry.id in saved:
                messages.extend(self._messages_of(saved[entry.id], entry.request_id))
            else:
                continue
            published.append(entry.id)
        if messages:
            self.broker.publish_many(messages)
        # Dropped: announced long ago and never saved (or, read back, deleted before publishing).
        abandoned = [
            e.id
            for e in entries
            if e.id not in prepared and e.id not in saved and e.created_at < orphaned
        ]
        settled = published + abandoned
        OutboxEntry.objects(id__in=settled).delete()
        for notification_id in settled:
            self._handed.pop(notification_id, None)
        return len(settled)

    def _saved(self, document_class, ids):
        """{id: document} of those of `ids` that are saved: handed over, or read back."""
        found = {i: self._handed[i] for i in ids if i in self._handed}
        missing = [i for i in ids if i not in found]
        if missing:
            found.update((d.id, d) for d in document_class.objects(id__in=missing))
        return found

    def _forget_handed_without_entry(self, bound, listed):
        """Drop handed notifications whose entry is gone (published from the database
        before they were handed over, or taken over by another instance): the read
        that found fewer than a batch listed every own entry below `bound`."""
        for notification_id in list(self._handed):  # a copy: requests add while this runs
            if notification_id < bound and notification_id not in listed:
                self._handed.pop(notification_id, None)

    def _inbox_changes(self, entries):
        """{entry id: [broker message]} of inbox change entries: numbered first, then the
        state read."""
        recorded = [
            inbox.record(
                e.id,
                user_id=e.user_id,
                kind=e.change,
                notification_id=e.notification_id,
                up_to=e.up_to,
                retention=self.change_retention,
            )
            for e in entries
        ]
        request_ids = {e.id: e.request_id for e in entries}
        return {
            change.id: [
                self._outgoing(
                    events.encode_inbox(snapshot), change.user_id, "inbox", request_ids[change.id]
                )
            ]
            for change, snapshot in zip(recorded, inbox.snapshots(recorded), strict=True)
        }

    def _receipts(self, entries):
        """{entry id: [broker message]} of receipt entries: the newest message read, as of
        now, one copy for each participant (see `events.encode_message`)."""
        receipts = {}
        for entry in entries:
            reader, other = entry.user_id, entry.other_id
            newest = conversations.last_read(reader_id=reader, other_id=other)
            receipts[entry.id] = [
                self._outgoing(
                    events.encode_receipt(
                        reader_id=reader, other_id=other, message=newest, for_user=user
                    ),
                    user,
                    "receipt",
                    entry.request_id,
                )
                for user in (reader, other)
            ]
        return receipts

    def _messages_of(self, document, request_id=None):
        """The broker messages of a saved notification (one) or message (one per participant)."""
        if isinstance(document, Message):
            return [
                self._outgoing(
                    events.encode_message(document, for_user=user), user, "message", request_id
                )
                for user in (document.sender_id, document.recipient_id)
            ]
        return [
            self._outgoing(events.encode(document), document.user_id, "notification", request_id)
        ]

    def _outgoing(self, payload, key, event, request_id):
        """A broker message, partitioned by `key`: a user's id, so each user's events keep
        their order on Kafka."""
        return OutgoingMessage(self.topic, payload, key=key, headers=_headers(event, request_id))


def _headers(event, request_id):
    """A broker message's headers: what it carries, and the request that made it."""
    headers = {"content-type": events.CONTENT_TYPE, "herald-event": event}
    if request_id:
        headers[correlation.BROKER_HEADER] = request_id
    return headers
