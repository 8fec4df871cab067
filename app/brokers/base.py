"""The broker interface every adapter implements (kombu style).

A `Broker` publishes bytes to a topic and hands out `Subscription`s; a
subscription belongs to a *group*, and every group receives every message of the
topic (Herald gives each instance its own group, so every instance sees every
notification). Within a group a message stays with the subscription until it is
acknowledged; one that was never acknowledged is delivered again to the next
subscription of that group. Messages with the same key keep their order.

Adapters only move bytes. Retries, dead letters and fan-out to sockets are
written once, above them, in `app.delivery.consumer`.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar


class BrokerError(Exception):
    """A broker could not be reached or refused an operation."""


class BrokerUnavailable(BrokerError):
    """A driver is missing or the broker cannot be reached."""


@dataclass
class Message:
    """One message as a subscription hands it out."""

    topic: str
    value: bytes
    key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    receipt: Any = None  # the adapter's handle to acknowledge this message


@dataclass
class OutgoingMessage:
    """One message to publish."""

    topic: str
    value: bytes
    key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Subscription:
    """A group's view of a topic; used by one consumer at a time.

    Adapters implement the batch forms, `poll_many` and `ack_many`: a consumer
    that takes what is waiting in one call pays the per-call costs (locks, a
    trip to a driver thread) once per batch rather than once per message.
    """

    def poll(self, timeout: float) -> Message | None:
        """Return the next `Message`, or None after `timeout` seconds without one."""
        batch = self.poll_many(timeout, 1)
        return batch[0] if batch else None

    def poll_many(self, timeout: float, limit: int) -> list[Message]:
        """The next messages in order, at most `limit`; [] after `timeout` seconds without one.

        Waits only for the first; the others are those already at hand.
        """
        raise NotImplementedError

    def ack(self, message: Message) -> None:
        """Mark `message` handled, so the group never gets it again."""
        self.ack_many([message])

    def ack_many(self, messages: Sequence[Message]) -> None:
        """`ack` each of `messages`."""
        raise NotImplementedError

    def close(self) -> None:
        """Let go of the subscription; unacknowledged messages go back to the group."""
        raise NotImplementedError


class Broker:
    """Base class of the broker adapters; subclasses set `scheme`."""

    scheme: ClassVar[str | None] = None
    #: Exceptions that mean "the broker failed", so callers can catch them
    #: without knowing which broker is configured.
    connection_errors: ClassVar[tuple[type[BaseException], ...]] = (
        BrokerError,
        ConnectionError,
        OSError,
    )

    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self.options = options

    def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Publish one message; return only once the broker has accepted it."""
        self.publish_many([OutgoingMessage(topic, value, key, dict(headers or {}))])

    def publish_many(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish several messages in order; return once the broker has them all."""
        raise NotImplementedError

    def subscribe(self, topic: str, *, group: str, durable: bool = False) -> Subscription:
        """A `Subscription` to `topic` for consumer group `group`.

        A `durable` group (a channel's, shared by every instance) keeps its place
        however long nobody subscribes; an instance's own group may be dropped by
        the broker once unused (RabbitMQ's queue_expires).
        """
        raise NotImplementedError

    def check(self) -> None:
        """Raise `BrokerUnavailable` unless the broker answers (used by /readyz)."""

    def backlog(self, topic: str, groups: Sequence[str]) -> dict[str, dict[str, int]]:
        """{group: {partition: messages of `topic` the group has not acknowledged}}.

        The consumer lag, for /metrics and /readyz. A group the broker does not
        know for `topic` is left out; a broker with no partitions reports one
        under "" (a RabbitMQ queue's depth). Raises `BrokerUnavailable`.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release connections and threads."""
