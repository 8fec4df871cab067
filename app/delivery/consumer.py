"""The consumer loop: every event off the broker to a handler, with retries and dead letters.

Started by the node (so it runs inside each gunicorn worker), it subscribes
with this instance's own group, so every instance sees every event
(notifications, presence changes, revocations). The handler, given by the node,
is the realtime package's: this package never imports it. Handling that fails
is retried in the background with exponential backoff (RETRY_BASE_DELAY * 2**n,
RETRY_MAX_ATTEMPTS in all) while the loop goes on with other users' messages;
the failing user's later messages wait behind the retry so their order holds.
After the last attempt, or at once for a malformed message, the message is
dead-lettered.

Messages are acknowledged in the order they arrived and only once handled or
dead-lettered (Kafka's commit covers every earlier offset, so a message being
retried holds back the acknowledgement of later ones, never their delivery).
Losing the broker only makes the loop reconnect with capped backoff.

A new subscription (a new Kafka group, a new RabbitMQ queue) starts at the
broker's end, so this instance never delivers a notification published just
before it. A client resuming here with `since` is sent only notifications
already out of the outbox (`service.missed_since` says why), and a publisher
takes its entry out only after the broker acknowledged it. In that gap the
notification would reach the client neither way, so after subscribing the
consumer waits (`settle`) until nothing older than the subscription is still on
its way out, and only then accepts sockets.

The channels (`app.channels`) run one consumer each, named by `channel`, in a
group shared by every instance and subscribed `durable`, so it resumes where it
stopped. A dead letter names the consumer's channel, and a replayed one (header
`herald-replay-for`) is taken only by the consumers of the channel it names.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from app import correlation, metrics
from app.brokers import Broker, Message, Subscription, redacted
from app.concurrency import Backoff, spawn
from app.delivery import dead_letters, events
from app.ids import new_id

logger = logging.getLogger(__name__)

IDLE_POLL = 1.0
BUSY_POLL = 0.05
MAX_IN_FLIGHT = 10000
POLL_BATCH = 500  # messages taken from the subscription at a time


class _InFlight:
    __slots__ = ("done", "event", "message")

    def __init__(self, message):
        self.message, self.event, self.done = message, None, False


class EventConsumer:
    """Consumes one topic for one instance; `handler(event)` delivers each event."""

    def __init__(
        self,
        broker: Broker,
        handler: Callable[[events.Event], object],
        *,
        topic: str,
        dead_letter_topic: str,
        group: str,
        instance_id: str,
        max_attempts: int,
        base_delay: float,
        settle: Callable[[str], None] | None = None,
        channel: str = dead_letters.SOCKET,
        durable: bool = False,
    ) -> None:
        self.broker, self.handler = broker, handler
        self.topic, self.dead_letter_topic, self.group = topic, dead_letter_topic, group
        self.instance_id = instance_id
        self.max_attempts, self.base_delay = max(1, max_attempts), base_delay
        self.settle = settle  # settle(boundary id): returns once older ones are out
        self.channel, self.durable = channel, durable
        self.subscribed = threading.Event()
        self._stopped = False
        self._lock = threading.Lock()
        self._in_flight = deque()
        self._held = {}  # user id -> entries waiting behind that user's retry

    def start(self):
        spawn(self._run, name="herald-consumer")

    def stop(self):
        self._stopped = True

    def _run(self):
        backoff = Backoff(cap=2.0)  # a broker that is back is used within 2 s
        while not self._stopped:
            subscription = None
            try:
                # (`durable` only when asked: the socket's call stays what it always was)
                durable = {"durable": True} if self.durable else {}
                subscription = self.broker.subscribe(self.topic, group=self.group, **durable)
                if self.settle is not None:
                    self.settle(new_id())
                self.subscribed.set()
                backoff.reset()
                self._consume(subscription)
            except self.broker.connection_errors as error:
                self.subscribed.clear()
                delay = backoff.next_delay()
                logger.error(
                    "Cannot consume from the broker at %s (%s); retrying in %.1fs",
                    redacted(self.broker.url),
                    error,
                    delay,
                )
                time.sleep(delay)
            except Exception:
                self.subscribed.clear()
                logger.exception("The consumer failed; restarting it")
                time.sleep(backoff.next_delay())
            finally:
                self._forget_in_flight()
                if subscription is not None:
                    self._close_quietly(subscription)

    def _consume(self, subscription: Subscription) -> None:
        while not self._stopped:
            room = MAX_IN_FLIGHT - len(self._in_flight)
            if room > 0:
                timeout = BUSY_POLL if self._in_flight else IDLE_POLL
                for message in subscription.poll_many(timeout, min(room, POLL_BATCH)):
                    self.process(message)
            else:  # back-pressure: wait for retries to finish
                time.sleep(BUSY_POLL)
            self._ack_finished(subscription)

    def process(self, message: Message) -> None:
        """Take one message: deliver it now, hold it behind a retry, or dead-letter it."""
        entry = _InFlight(message)
        replay_for = message.headers.get(dead_letters.REPLAY_FOR)
        if replay_for is not None and replay_for != self.channel:
            entry.done = True  # another channel's dead letter, replayed: not ours
            with self._lock:
                self._in_flight.append(entry)
            return
        correlation.adopt(message.headers)  # its log lines carry the id of the request
        try:
            entry.event = events.decode(message.value)
        except events.MalformedEvent as error:
            with self._lock:
                self._in_flight.append(entry)
            metrics.DEAD_LETTERS.labels("malformed").inc()
            self._dead_letter(entry, error=str(error), attempts=1)
            return
        metrics.consumed(entry.event)
        with self._lock:
            self._in_flight.append(entry)
            held = self._held.get(entry.event.user_id)
            if held is not None:
                held.append(entry)
                return
        self._attempt(entry, attempt=1)

    def _attempt(self, entry, *, attempt):
        """Try the handler once; on success release what waited behind it."""
        correlation.adopt(entry.message.headers)  # (a retry runs in a greenlet of its own)
        logger.debug("Handling %s for %s", type(entry.event).__name__, entry.event.user_id)
        try:
            self.handler(entry.event)
        except Exception as error:
            self._failed(entry, attempt, error)
            return
        self._finish(entry)

    def _failed(self, entry, attempt, error):
        what = f"{type(entry.event).__name__} for {entry.event.user_id}"
        with self._lock:  # the user's later messages wait until this one is settled
            self._held.setdefault(entry.event.user_id, deque())
        if attempt >= self.max_attempts:
            logger.error("Giving up on %s after %d attempts: %r", what, attempt, error)
            metrics.DEAD_LETTERS.labels("exhausted").inc()
            spawn(self._dead_letter_until_done, entry, repr(error), attempt, name="herald-dlq")
            return
        delay = self.base_delay * 2 ** (attempt - 1)
        metrics.CONSUMER_RETRIES.inc()
        logger.warning(
            "Delivery of %s failed (%r); attempt %d in %.2fs",
            what,
            error,
            attempt + 1,
            delay,
        )
        spawn(self._retry_later, entry, attempt + 1, delay, name="herald-retry")

    def _retry_later(self, entry, attempt, delay):
        time.sleep(delay)
        if not self._stopped:
            self._attempt(entry, attempt=attempt)

    def _finish(self, entry):
        """Mark `entry` settled, then deliver what waited behind it for the same user."""
        while True:
            entry.done = True
            if entry.event is None or not self._held:  # (no retry anywhere: nothing waits)
                return
            user_id = entry.event.user_id
            with self._lock:
                held = self._held.get(user_id)
                if held is None:
                    return
                if not held:
                    del self._held[user_id]
                    return
                entry = held.popleft()
            correlation.adopt(entry.message.headers)
            try:
                self.handler(entry.event)
            except Exception as error:
                self._failed(entry, 1, error)
                return

    def _dead_letter_until_done(self, entry, error, attempts):
        backoff, letter_id = Backoff(), new_id()  # one id, so a repeat overwrites
        while not self._stopped:
            try:
                self._dead_letter(entry, error=error, attempts=attempts, letter_id=letter_id)
                return
            except Exception:
                logger.exception("Could not dead-letter a message; trying again")
                time.sleep(backoff.next_delay())

    def _dead_letter(self, entry, *, error, attempts, letter_id=None):
        """Record the message with its error and publish it to the dead-letter topic."""
        message = entry.message
        logger.error("Dead-lettering a message on %s: %s", message.topic, error)
        dead_letters.record(
            message,
            error=error,
            attempts=attempts,
            instance_id=self.instance_id,
            letter_id=letter_id or new_id(),
            channel=self.channel,
        )
        self.broker.publish(
            self.dead_letter_topic,
            message.value,
            key=message.key,
            headers=dead_letters.dead_letter_headers(
                message, error=error, attempts=attempts, channel=self.channel
            ),
        )
        self._finish(entry)

    def _ack_finished(self, subscription: Subscription) -> None:
        """Acknowledge, in arrival order, every message handled so far."""
        finished = []
        with self._lock:
            in_flight = self._in_flight
            while in_flight and in_flight[0].done:
                finished.append(in_flight.popleft().message)
        if finished:
            subscription.ack_many(finished)

    def _forget_in_flight(self):
        # Unacknowledged messages come back from the broker on the next subscription.
        with self._lock:
            self._in_flight.clear()
            self._held.clear()

    @staticmethod
    def _close_quietly(subscription):
        try:
            subscription.close()
        except Exception:
            logger.debug("Closing the subscription failed", exc_info=True)
