"""The outbox: what is saved but not yet taken by the broker, and waiting for it.

A request writes an `OutboxEntry` before its notification, so a notification
never exists unannounced; the relay (`app.delivery.relay`) publishes it and
deletes the entry. An entry leaves the outbox only after the broker took its
notification, so once none is left they are all on their way to every instance.
"""

import logging
import time
from collections.abc import Iterable

import mongoengine as me

from app import cluster
from app.clock import now

logger = logging.getLogger(__name__)
MESSAGE, RECEIPT = "message", "receipt"  # the kinds of entry besides notifications and changes


class OutboxEntry(me.Document):
    """A notification, a message, a read receipt or a change of a user's inbox, still to
    be published.

    Kept apart from the notification so the relay never writes to documents
    users are marking read (and its queries stay on a small collection).
    """

    id = me.StringField(primary_key=True)  # the notification's id
    publisher = me.StringField(required=True)  # the instance whose relay publishes it
    # Where it is to be published: only a relay of the same topic may take it over
    # (instances of another deployment can share the database, tests do).
    topic = me.StringField()
    created_at = me.DateTimeField(required=True, default=now)
    # MESSAGE (the entry's id is the message's) or RECEIPT; none for a notification
    # (whose id the entry's is) or an inbox change.
    kind = me.StringField(choices=("message", "receipt"))
    # An inbox change (`app.notifications.inbox`): its kind, whose inbox, and what
    # changed. A receipt: `user_id` read what `other_id` sent.
    change = me.StringField()
    user_id = me.StringField()
    other_id = me.StringField()
    fanout_id = me.StringField()  # a notification to an audience: its job (app.audiences)
    notification_id = me.StringField()
    up_to = me.StringField()
    request_id = me.StringField()  # of the request that made it, sent along (app.correlation)

    meta = {"collection": "outbox", "indexes": ["publisher", "fanout_id"]}


def of_topic(topic: str) -> dict:
    """Query terms for the entries meant for `topic` (no topic: written before entries had one)."""
    return {"topic__in": [topic, None]}


def pending(notification_ids: Iterable[str]) -> set[str]:
    """Those of `notification_ids` whose entry is still in the outbox."""
    return set(OutboxEntry.objects(id__in=list(notification_ids)).distinct("id"))


def wait_until_relayed(timeout: float, interval: float = 0.02, **query) -> bool:
    """Wait until no live instance's outbox holds an entry matching `query`.

    Returns False if one still did after `timeout` seconds. Entries of dead
    instances are not waited for: a takeover publishes them later.
    """
    deadline = time.monotonic() + timeout
    while True:
        alive = cluster.live_instance_ids()
        if OutboxEntry.objects(publisher__in=alive, **query).first() is None:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def settle(boundary: str, *, topic: str, timeout: float) -> None:
    """Wait until every entry of `topic` older than `boundary` is published.

    A new subscription starts at the broker's end; the consumer calls this
    after subscribing so that nothing older is half-way out when sockets attach
    (see `app.delivery.consumer`).
    """
    if not wait_until_relayed(timeout, id__lt=boundary, **of_topic(topic)):
        logger.warning(
            "Accepting sockets although notifications older than the consumer's "
            "subscription are still in the outbox after %.1fs; a client resuming "
            "right now may not get them over its socket (they stay in its list)",
            timeout,
        )
