"""Keeps this instance's publications in id order.

A notification's id (a UUIDv7) is made before it is saved, and concurrent
requests finish saving in any order. If the relay published a newer id while
an older one was still being saved, a client that saw the newer one and then
reconnected with `since` would never get the older one. So ids are made here,
each counted as being saved from the moment it exists until the block that
saves it ends, and the relay publishes only ids below `publishable_below()`.
"""

import contextlib
import threading

from app.ids import new_id

_lock = threading.Lock()
_in_flight = set()


def new_ids(count):
    """`count` fresh ids, counted as being saved until the `with` block ends.

    They are made under the same lock `publishable_below` takes, so no id can
    exist yet be missing from the count.
    """
    with _lock:
        ids = [new_id() for _ in range(count)]
        _in_flight.update(ids)
    return _counted_until_saved(ids)


def creating(*notification_ids):
    """Count ids made earlier (a retried request's) as being saved during the block."""
    with _lock:
        _in_flight.update(notification_ids)
    return _counted_until_saved(notification_ids)


@contextlib.contextmanager
def _counted_until_saved(ids):
    try:
        yield ids
    finally:
        with _lock:
            _in_flight.difference_update(ids)


def publishable_below():
    """An id such that every id made here below it is saved (or failed) by now.

    That is the oldest id still being saved or, with none, a fresh id: ids are
    time-ordered, so every later one is above it. Taken before reading the
    outbox, it keeps out entries whose notification a request may still save.
    """
    with _lock:
        return min(_in_flight) if _in_flight else new_id()
