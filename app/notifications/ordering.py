"""Keeps this instance's publications in id order.

A notification's id (a UUIDv7) is made before it is saved, and concurrent
requests finish saving in any order. If the relay published a newer id while
an older one was still being saved, a client that saw the newer one and then
reconnected with `since` would never get the older one. So each creation is
registered here from the moment its id exists until it is saved (or failed),
and the relay publishes only ids below the oldest one still in flight.
"""

import contextlib
import threading

_lock = threading.Lock()
_in_flight = set()


@contextlib.contextmanager
def creating(*notification_ids):
    """Mark these ids as being saved for the duration of the block."""
    with _lock:
        _in_flight.update(notification_ids)
    try:
        yield
    finally:
        with _lock:
            _in_flight.difference_update(notification_ids)


def publishable_below():
    """The oldest id still being saved (publish only ids below it), or None."""
    with _lock:
        return min(_in_flight) if _in_flight else None
