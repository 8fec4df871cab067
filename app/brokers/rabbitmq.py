"""RabbitMQ adapter on pika's BlockingConnection.

A topic is a fanout exchange of the same name; each group has its own durable
queue `<topic>.<group>` bound to it, so every group (every Herald instance) gets
every message, in publish order. A queue that nobody uses for `queue_expires`
seconds is deleted by the broker, so the queues of dead instances vanish.
Each `publish_many` is one AMQP transaction, committed before it returns;
unacknowledged deliveries return to the queue when their subscription closes.

Under gevent, pika's sockets are monkey-patched and cooperate with the hub, so
the blocking API is safe to use from greenlets. But every BlockingChannel call
flushes the socket and waits for its turn on the hub, several times; with a busy
hub (requests being served) a publish confirmed one by one or an ack per message
took tens of milliseconds each, and deliveries fell seconds behind. So publishes
and acks are written as frames on the channel underneath (`channel._impl`, which
only buffers them) and go out together: the publishes with the transaction's
commit, the acks with the next read. Acks of deliveries in the order they came
(the consumer's case) go as one `multiple` ack per batch.
"""

import contextlib
import logging
import threading
import time
from collections import deque

import pika
import pika.exceptions

from app.brokers.base import Broker, BrokerUnavailable, Message, Subscription

logger = logging.getLogger(__name__)
PERSISTENT = pika.DeliveryMode.Persistent


@contextlib.contextmanager
def _driver_errors(what):
    """Turn pika's and the socket's failures into BrokerUnavailable."""
    try:
        yield
    except (pika.exceptions.AMQPError, OSError) as error:
        raise BrokerUnavailable(f"RabbitMQ {what} failed: {error!r}") from error


def _connect(parameters):
    with _driver_errors("connection"):
        return pika.BlockingConnection(parameters)


def _close_quietly(connection):
    if connection is not None and connection.is_open:
        with contextlib.suppress(pika.exceptions.AMQPError, OSError):
            connection.close()


def _text_headers(headers):
    return {
        name: value.decode() if isinstance(value, bytes) else str(value)
        for name, value in (headers or {}).items()
    }


class RabbitMQSubscription(Subscription):
    """A consumer on the group's queue, over a connection of its own."""

    def __init__(self, parameters, topic, group, *, prefetch_count, queue_expires):
        self.topic = topic
        self.delivered = deque()
        self.unacked = deque()  # delivery tags not yet acknowledged to the broker, oldest first
        self.unsent_acks = set()
        self.connection = _connect(parameters)
        try:
            with _driver_errors(f"subscription to {topic!r}"):
                self.channel = self.connection.channel()
                queue = self._declare_group_queue(topic, group, queue_expires)
                self.channel.basic_qos(prefetch_count=prefetch_count)
                self.channel.basic_consume(queue, self._on_delivery)
        except BaseException:
            _close_quietly(self.connection)
            raise

    def _declare_group_queue(self, topic, group, queue_expires):
        queue = f"{topic}.{group}"
        self.channel.exchange_declare(topic, exchange_type="fanout", durable=True)
        arguments = {} if queue_expires is None else {"x-expires": int(queue_expires * 1000)}
        self.channel.queue_declare(queue, durable=True, arguments=arguments)
        self.channel.queue_bind(queue, topic)
        return queue

    def _on_delivery(self, channel, method, properties, body):
        self.unacked.append(method.delivery_tag)
        self.delivered.append(
            Message(
                topic=self.topic,
                value=body,
                key=method.routing_key or None,  # fanout ignores it; it carries the key
                headers=_text_headers(properties.headers),
                receipt=method.delivery_tag,
            )
        )

    def poll_many(self, timeout, limit):
        deadline = time.monotonic() + timeout
        with _driver_errors("poll"):
            while not self.delivered:
                self._queue_acks()  # written by the read below
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self.connection.process_data_events(time_limit=left)
        delivered = self.delivered
        return [delivered.popleft() for _ in range(min(limit, len(delivered)))]

    def ack_many(self, messages):
        self.unsent_acks.update(message.receipt for message in messages)

    def _queue_acks(self):
        """Write the acks waiting since the last read: one `multiple` ack for the oldest
        deliveries, acked in the order they came, and one ack for each of the others."""
        if not self.unsent_acks:
            return
        channel = self.channel._impl  # buffers the frame; no flush, no wait (module docstring)
        acked, unacked, through = self.unsent_acks, self.unacked, None
        while unacked and unacked[0] in acked:
            through = unacked.popleft()
            acked.discard(through)
        if through is not None:
            # Settles every delivery up to `through`, all of them acked by the caller.
            channel.basic_ack(delivery_tag=through, multiple=True)
        for tag in sorted(acked):  # acked ahead of an older delivery still in hand
            if tag in unacked:  # (acked twice: settled already, and the broker would refuse)
                channel.basic_ack(delivery_tag=tag)
                unacked.remove(tag)
        acked.clear()

    def close(self):
        # Closing the connection hands every unacknowledged delivery back to the queue;
        # the acks queued before it are written first.
        self.delivered.clear()
        if self.connection.is_open and self.channel.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                self._queue_acks()
        _close_quietly(self.connection)


class _Publisher:
    """The broker's one publishing connection, in transaction mode; reopened after a failure."""

    def __init__(self, parameters):
        self.parameters = parameters
        self.connection = self.channel = None
        self.declared = set()

    def healthy_channel(self):
        """The transactional channel, reconnecting when the old one was lost."""
        if self.connection is not None:
            try:
                # Reads a close from the broker (e.g. after idle heartbeats) before we rely on it.
                self.connection.process_data_events(time_limit=0)
            except (pika.exceptions.AMQPError, OSError):
                self.reset()
        if self.channel is None or not self.channel.is_open:
            self.reset()
            self.connection = _connect(self.parameters)
            with _driver_errors("channel"):
                self.channel = self.connection.channel()
                self.channel.tx_select()
        return self.channel

    def declare_exchange(self, topic):
        if topic not in self.declared:
            self.channel.exchange_declare(topic, exchange_type="fanout", durable=True)
            self.declared.add(topic)

    def reset(self):
        _close_quietly(self.connection)
        self.connection = self.channel = None
        self.declared.clear()


class RabbitMQBroker(Broker):
    """RabbitMQ behind the Broker interface; `amqp://user:pass@host:5672/vhost`."""

    scheme = "amqp"
    connection_errors = (*Broker.connection_errors, pika.exceptions.AMQPError)

    def __init__(self, url, **options):
        super().__init__(url, **options)
        self.publish_timeout = float(options.get("publish_timeout", 5.0))
        self.check_timeout = float(options.get("check_timeout", 2.5))
        self.prefetch_count = int(options.get("prefetch_count", 300))
        self.queue_expires = float(options.get("queue_expires", 600.0))
        self.parameters = self._connection_parameters(url, options)
        self._publisher = _Publisher(self.parameters)
        self._publish_lock = threading.Lock()

    def _connection_parameters(self, url, options):
        parameters = pika.URLParameters(url)
        parameters.connection_attempts = 1
        parameters.socket_timeout = self.check_timeout
        parameters.stack_timeout = self.check_timeout + 1.0
        parameters.blocked_connection_timeout = self.publish_timeout
        parameters.heartbeat = int(options.get("heartbeat", 30))
        parameters.client_properties = {"connection_name": "herald"}
        return parameters

    def publish_many(self, messages):
        with self._publish_lock:
            channel = self._publisher.healthy_channel()
            try:
                with _driver_errors("publish"):
                    for topic in {message.topic for message in messages}:
                        self._publisher.declare_exchange(topic)
                    for message in messages:
                        channel._impl.basic_publish(  # buffered; see the module docstring
                            message.topic,
                            message.key or "",
                            message.value,
                            pika.BasicProperties(
                                headers=dict(message.headers), delivery_mode=PERSISTENT
                            ),
                        )
                    # Returns once the broker has routed and stored the whole batch; a
                    # failure rolls it back and the caller publishes it again.
                    channel.tx_commit()
            except BrokerUnavailable:
                self._publisher.reset()
                raise

    def subscribe(self, topic, *, group, durable=False):
        return RabbitMQSubscription(
            self.parameters,
            topic,
            group,
            prefetch_count=self.prefetch_count,
            queue_expires=None if durable else self.queue_expires,  # None: kept for good
        )

    def backlog(self, topic, groups):
        """Each group's queue depth: messages ready, not yet handed to its consumer."""
        connection, depths = _connect(self.parameters), {}
        try:
            with _driver_errors("queue depth"):
                channel = connection.channel()
                for group in groups:
                    try:
                        declared = channel.queue_declare(f"{topic}.{group}", passive=True)
                    except pika.exceptions.ChannelClosedByBroker as error:
                        if error.reply_code != 404:
                            raise
                        channel = connection.channel()  # a 404 closes the channel
                        continue
                    depths[group] = {"": declared.method.message_count}
        finally:
            _close_quietly(connection)
        return depths

    def check(self):
        with self._publish_lock:
            try:
                self._publisher.healthy_channel()
            except BrokerUnavailable as error:
                raise BrokerUnavailable(
                    f"RabbitMQ at {self.parameters.host}:{self.parameters.port} "
                    f"cannot be reached: {error}"
                ) from error

    def close(self):
        with self._publish_lock:
            self._publisher.reset()
