"""Background work that behaves under plain threads and under gevent alike.

Under gunicorn's gevent worker `threading` is monkey-patched into greenlets, which
is what Herald wants for socket work; but a C call that blocks (librdkafka's
poll, for one) would freeze every socket of the worker, so such calls go through
`run_blocking`, which moves them to a native thread while the caller's greenlet
waits cooperatively.
"""

import logging
import threading

logger = logging.getLogger(__name__)


def gevent_active():
    """True when the threading module is patched by gevent."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("threading")


def spawn(target, *args, name=None):
    """Run `target` in the background (a greenlet under gevent, else a thread)."""
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
