"""The consumer loop: broker -> hub, with retries and dead letters.

Started by the app factory (so it runs inside each gunicorn worker), it
subscribes with this instance's own group, so every instance sees every
notification. A message is acknowledged only after it was handled or
dead-lettered. Handling that fails is retried with exponential backoff
(RETRY_BASE_DELAY * 2**n, RETRY_MAX_ATTEMPTS in all); a malformed message is
dead-lettered at once. Losing the broker only makes the loop reconnect with
capped backoff.
"""

import logging
import threading
import time

from app.concurrency import Backoff, spawn
from app.notifications import events
from app.realtime import dead_letters

logger = logging.getLogger(__name__)


class NotificationConsumer:
    def __init__(
        self,
        broker,
        handler,
        *,
        topic,
        dead_letter_topic,
        group,
        instance_id,
        max_attempts,
        base_delay,
    ):
        self.broker, self.handler = broker, handler
        self.topic, self.dead_letter_topic, self.group = topic, dead_letter_topic, group
        self.instance_id = instance_id
        self.max_attempts, self.base_delay = max(1, max_attempts), base_delay
        self.subscribed = threading.Event()
        self._stopped = False

    def start(self):
        spawn(self._run, name="herald-consumer")

    def stop(self):
        self._stopped = True

    def _run(self):
        backoff = Backoff()
        while not self._stopped:
            subscription = None
            try:
                subscription = self.broker.subscribe(self.topic, group=self.group)
                self.subscribed.set()
                backoff.reset()
                self._consume(subscription)
            except Exception:
                self.subscribed.clear()
                logger.exception("Consumer lost the broker; reconnecting")
                time.sleep(backoff.next_delay())
            finally:
                if subscription is not None:
                    self._close_quietly(subscription)

    def _consume(self, subscription):
        while not self._stopped:
            message = subscription.poll(1.0)
            if message is not None:
                self.process(message)
                subscription.ack(message)

    def process(self, message):
        """Handle one message: decode, deliver with retries, or dead-letter it."""
        try:
            event = events.decode(message.value)
        except events.MalformedEvent as error:
            self.dead_letter(message, error=str(error), attempts=1)
            return
        for attempt in range(1, self.max_attempts + 1):
            try:
                self.handler(event)
                return
            except Exception as error:
                if attempt == self.max_attempts:
                    logger.exception(
                        "Giving up on %s after %d attempts", event.notification_id, attempt
                    )
                    self.dead_letter(message, error=repr(error), attempts=attempt)
                    return
                delay = self.base_delay * 2 ** (attempt - 1)
                logger.warning(
                    "Delivery of %s failed (%r); retry %d in %.2fs",
                    event.notification_id,
                    error,
                    attempt,
                    delay,
                )
                time.sleep(delay)

    def dead_letter(self, message, *, error, attempts):
        """Record the message with its error, and publish it to the dead-letter topic."""
        logger.error("Dead-lettering a message on %s: %s", message.topic, error)
        dead_letters.record(message, error=error, attempts=attempts, instance_id=self.instance_id)
        self.broker.publish(
            self.dead_letter_topic,
            message.value,
            key=message.key,
            headers=dead_letters.dead_letter_headers(message, error=error, attempts=attempts),
        )

    @staticmethod
    def _close_quietly(subscription):
        try:
            subscription.close()
        except Exception:
            logger.debug("Closing the subscription failed", exc_info=True)
