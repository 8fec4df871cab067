"""Keeps one instance's publications in id order.

A notification's id (a UUIDv7) is made before it is saved, and concurrent
requests finish saving in any order. If the relay published a newer id while
an older one was still being saved, a client that saw the newer one and then
reconnected with `since` would never get the older one. So ids are made by the
instance's `PublicationOrder`, each counted as being saved from the moment it
exists until the block that saves it ends, and the relay publishes only ids
below `publishable_below()`. Each relay owns one: two instances in one process
keep two counts.
"""

import contextlib
import threading
from collections.abc import Iterator

from app.ids import new_id


class PublicationOrder:
    """The ids an instance is still saving, and the bound its relay may publish below."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()

    def new_ids(self, count: int) -> contextlib.AbstractContextManager[list[str]]:
        """`count` fresh ids, counted as being saved until the `with` block ends.

        They are made under the same lock `publishable_below` takes, so no id can
        exist yet be missing from the count.
        """
        with self._lock:
            ids = [new_id() for _ in range(count)]
            self._in_flight.update(ids)
        return self._counted_until_saved(ids)

    def creating(self, *notification_ids: str) -> contextlib.AbstractContextManager[list[str]]:
        """Count ids made earlier (a retried request's) as being saved during the block."""
        with self._lock:
            self._in_flight.update(notification_ids)
        return self._counted_until_saved(list(notification_ids))

    @contextlib.contextmanager
    def _counted_until_saved(self, ids: list[str]) -> Iterator[list[str]]:
        try:
            yield ids
        finally:
            with self._lock:
                self._in_flight.difference_update(ids)

    def publishable_below(self) -> str:
        """An id such that every id made here below it is saved (or failed) by now.

        That is the oldest id still being saved or, with none, a fresh id: ids are
        time-ordered, so every later one is above it. Taken before reading the
        outbox, it keeps out entries whose notification a request may still save.
        """
        with self._lock:
            return min(self._in_flight) if self._in_flight else new_id()
