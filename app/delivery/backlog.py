"""How far behind delivery is: the outbox's backlog and the consumers' lag.

Read on demand, by `/metrics` at each scrape and by `/readyz`, rather than kept
up to date by the relay and the consumer: both are state already held by the
database and the broker.
"""

import time

from app.brokers import Broker
from app.delivery import outbox
from app.delivery.outbox import OutboxEntry


def outbox_backlog(topic: str, *, publisher: str | None = None) -> tuple[int, float]:
    """(entries of `topic` not yet published, age in seconds of the oldest; 0 for none),
    of every instance or only of `publisher`'s."""
    entries = OutboxEntry.objects(**outbox.of_topic(topic))
    if publisher is not None:
        entries = entries.filter(publisher=publisher)
    oldest = entries.order_by("id").only("id", "created_at").first()
    if oldest is None:
        return 0, 0.0
    return entries.count(), max(0.0, time.time() - oldest.created_at.timestamp())


def consumer_lag(broker: Broker, topic: str, groups: dict[str, str]) -> dict[str, dict[str, int]]:
    """{instance: {partition: messages not acknowledged}} for `groups` ({group: instance})."""
    lags = broker.backlog(topic, list(groups))
    return {groups[group]: partitions for group, partitions in lags.items()}
