"""Background work that behaves under plain threads and under gevent alike.

Under gunicorn's gevent worker `threading` is monkey-patched into greenlets, which
is what Herald wants for socket work; but a C call that blocks (librdkafka's
poll, for one) would freeze every socket of the worker, so such calls go through
`run_blocking`, which moves them to a native thread while the caller's greenlet
waits cooperatively.
"""

import functools
import logging
import threading

logger = logging.getLogger(__name__)


@functools.cache
def gevent_active():
    """True when the threading module is patched by gevent (decided before the app loads)."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("threading")


def spawn(target, *args, name=None):
    """Run `target` in the background: a bare greenlet under gevent, else a daemon thread.

    Under gevent a patched `threading.Thread` costs tens of microseconds (locks, an
    Event, a trip through the hub), and the hub starts a writer for nearly every
    frame it delivers; `gevent.spawn` costs a fraction of that.
    """
    if gevent_active():
        import gevent

        return gevent.spawn(target, *args)
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread.start()
    return thread


def run_blocking(function, *args):
    """Call `function` so that it blocks only the caller, never the gevent hub."""
    if gevent_active():
        import gevent

        return gevent.get_hub().threadpool.apply(function, args)
    return function(*args)


class Backoff:
    """Capped exponential delays for reconnect loops: 0.5, 1, 2 ... `cap` seconds."""

    def __init__(self, base=0.5, cap=10.0):
        self.base, self.cap, self.failures = base, cap, 0

    def next_delay(self):
        delay = min(self.cap, self.base * (2**self.failures))
        self.failures += 1
        return delay

    def reset(self):
        self.failures = 0
