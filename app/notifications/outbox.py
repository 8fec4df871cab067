"""The outbox relay: publishes saved notifications until the broker has them.

Requests only write an `OutboxEntry` and the notification; this background loop
publishes announced notifications, oldest first, and deletes their entries. A
broker outage just leaves entries waiting; the loop retries with backoff, so an
accepted notification is never lost. Each instance relays its own entries at
once (`wake`) and, on its periodic sweep, those of instances that died (their
heartbeat expired) once older than OUTBOX_ORPHAN_AFTER, if meant for the same
topic; a live instance's entries stay its own however long its broker is away.
An entry whose notification never got saved (a crash between the two writes)
is dropped once it is that old.
"""

import logging
import threading
import time
from datetime import timedelta

from mongoengine.queryset.visitor import Q

from app.brokers import OutgoingMessage
from app.clock import now
from app.concurrency import Backoff, spawn
from app.database import DATABASE_ERRORS
from app.notifications import events, ordering
from app.notifications.models import Notification, OutboxEntry
from app.realtime import presence

logger = logging.getLogger(__name__)


def of_topic(topic):
    """Query terms for the entries meant for `topic` (no topic: written before entries had one)."""
    return {"topic__in": [topic, None]}


def wait_until_relayed(timeout, interval=0.02, **query):
    """Wait until no live instance's outbox holds an entry matching `query`.

    Returns False if one still did after `timeout` seconds. An entry leaves the
    outbox only after the broker took its notification, so once none is left
    they are all on their way to every instance. Entries of dead instances are
    not waited for: a takeover publishes them later.
    """
    deadline = time.monotonic() + timeout
    while True:
        alive = presence.live_instance_ids()
        if OutboxEntry.objects(publisher__in=alive, **query).first() is None:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class OutboxRelay:
    def __init__(self, broker, *, instance_id, topic, poll_interval, orphan_after, batch_size):
        self.broker, self.instance_id, self.topic = broker, instance_id, topic
        self.poll_interval, self.orphan_after = poll_interval, orphan_after
        self.batch_size = batch_size
        self._wake = threading.Event()
        self._stopped = False

    def start(self):
        spawn(self._run, name="herald-outbox")

    def stop(self):
        self._stopped = True
        self._wake.set()

    def wake(self):
        """Publish soon: a notification was just saved."""
        self._wake.set()

    def _run(self):
        backoff = Backoff(base=self.poll_interval / 4, cap=max(self.poll_interval, 5.0))
        while not self._stopped:
            self._wake.clear()
            try:
                while self.relay_once() == self.batch_size:
                    pass
                backoff.reset()
                self._wake.wait(self.poll_interval)
            except self.broker.connection_errors + DATABASE_ERRORS as error:
                delay = backoff.next_delay()
                logger.warning("Outbox relay failed (%s); retrying in %.1fs", error, delay)
                time.sleep(delay)
            except Exception:
                logger.exception("Outbox relay crashed; retrying")
                time.sleep(backoff.next_delay())

    def relay_once(self):
        """Publish one batch of announced notifications; returns how many entries it settled."""
        orphaned = now() - timedelta(seconds=self.orphan_after)
        alive = presence.live_instance_ids()
        # Never past an older id still being saved; taken before the outbox is read.
        own = Q(publisher=self.instance_id, id__lt=ordering.publishable_below())
        orphans = Q(
            publisher__nin=[*alive, self.instance_id],
            created_at__lt=orphaned,
            **of_topic(self.topic),
        )
        entries = list(OutboxEntry.objects(own | orphans).order_by("id").limit(self.batch_size))
        if not entries:
            return 0
        saved = {n.id: n for n in Notification.objects(id__in=[e.id for e in entries])}
        ready = [saved[e.id] for e in entries if e.id in saved]
        if ready:
            self.broker.publish_many([self._message(n) for n in ready])
        # Dropped: announced long ago and never saved (or deleted before publishing).
        abandoned = [e.id for e in entries if e.id not in saved and e.created_at < orphaned]
        settled = [n.id for n in ready] + abandoned
        OutboxEntry.objects(id__in=settled).delete()
        return len(settled)

    def _message(self, notification):
        return OutgoingMessage(
            self.topic,
            events.encode(notification),
            key=notification.user_id,
            headers={"content-type": events.CONTENT_TYPE, "herald-event": "notification"},
        )
