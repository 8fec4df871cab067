"""Background work that behaves under plain threads and under gevent alike.

Under gunicorn's gevent worker `threading` is monkey-patched into greenlets, which
is what Herald wants for socket work; but a C call that blocks (librdkafka's
poll, for one) would freeze every socket of the worker, so such calls go through
`run_blocking`, which moves them to a native thread while the caller's greenlet
waits cooperatively.

Code running there must not log directly: logging's locks are gevent locks, which
a pool thread cannot wait on while the hub holds them (gevent#1698), and under
load that froze the worker. It logs through a `PoolLogger`, whose records the hub
writes out when the blocking call returns.
"""

import functools
import logging
import threading
import time
from collections import deque

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

        try:
            return gevent.get_hub().threadpool.apply(function, args)
        finally:
            _write_pool_records()
    return function(*args)


# Records logged in pool threads, waiting for the hub; bounded so that a flood of
# driver debug lines cannot grow memory. deque's append and popleft are atomic.
_pool_records = deque(maxlen=10_000)


class PoolLogger:
    """A logger that is safe to call from pool threads (see the module docstring).

    Pass it wherever a library wants a logger object with a `log` method
    (confluent-kafka's `logger` setting), or use its level methods directly.
    """

    def __init__(self, target):
        self.target = target

    def log(self, level, message, *args):
        # Not even isEnabledFor here: it may take logging's module lock. The record
        # gets its time when written, at most one blocking call later.
        if gevent_active():
            _pool_records.append((self.target, level, message, args))
        else:
            self.target.log(level, message, *args)

    def warning(self, message, *args):
        self.log(logging.WARNING, message, *args)


def _write_pool_records():
    while _pool_records:
        try:
            target, level, message, args = _pool_records.popleft()
        except IndexError:  # another greenlet took the last one
            return
        target.log(level, message, *args)


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


class BackgroundLoop:
    """A background loop that does its work, then waits `poll_interval` or a `wake()`.

    `work()` returns True when there may be more to do at once. An error of
    `transient_errors` (a database or broker away) is retried with backoff and
    logged as a warning; any other one is logged with its traceback and retried
    the same way, so the loop never dies.
    """

    name = "herald-loop"
    transient_errors: tuple[type[BaseException], ...] = ()

    def __init__(self, poll_interval: float) -> None:
        self.poll_interval = poll_interval
        self._wake = threading.Event()
        self._stopped = False

    def work(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        spawn(self._run, name=self.name)

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def wake(self) -> None:
        """Do the work now rather than at the next poll."""
        self._wake.set()

    def _run(self):
        backoff = Backoff(base=self.poll_interval / 4, cap=max(self.poll_interval, 5.0))
        while not self._stopped:
            self._wake.clear()
            try:
                while not self._stopped and self.work():
                    pass
                backoff.reset()
                self._wake.wait(self.poll_interval)
            except self.transient_errors as error:
                delay = backoff.next_delay()
                logger.warning("%s paused (%s); retrying in %.1fs", self.name, error, delay)
                time.sleep(delay)
            except Exception:
                logger.exception("%s crashed; retrying", self.name)
                time.sleep(backoff.next_delay())
