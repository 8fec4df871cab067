"""Kafka adapter on confluent-kafka (librdkafka).

Fan-out comes from consumer groups: each Herald instance subscribes with its
own group, so every instance reads every message. Keys pick the partition, so
one user's notifications keep their order. Offsets are committed only for
acknowledged messages, so whatever was not handled is read again by the group's
next subscription.

librdkafka's poll, flush, commit and metadata calls block in C and would freeze
the gevent hub; every one of them goes through `run_blocking`. What runs inside
them (librdkafka's log lines, the rebalance callbacks) logs through a
`PoolLogger`, never directly.
"""

import logging
import threading
import time
from collections import deque
from functools import partial
from urllib.parse import urlsplit

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from app.brokers.base import Broker, BrokerUnavailable, Message, Subscription
from app.brokers.kafka_lag import group_lag
from app.brokers.kafka_offsets import AckedOffsets
from app.concurrency import PoolLogger, run_blocking

logger = logging.getLogger(__name__)
pool_log = PoolLogger(logger)  # for what runs in the thread pool (callbacks, close)
librdkafka_log = PoolLogger(logging.getLogger(__name__ + ".librdkafka"))
# A topic just created is briefly unknown to the consumer; that passes by itself.
TRANSIENT_ERRORS = (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._PARTITION_EOF)
# Records taken per consume() call in the thread pool (handed out one by one).
CONSUME_BATCH = 500


class KafkaSubscription(Subscription):
    """One consumer in its group; created by `KafkaBroker.subscribe`."""

    def __init__(self, topic, config, *, subscribe_timeout, commit_timeout, commit_interval):
        self.topic, self.commit_timeout = topic, commit_timeout
        self.commit_interval, self.next_commit_at, self.uncommitted = commit_interval, 0.0, False
        self.offsets = AckedOffsets()
        self.assigned = False  # set by _on_assign, which runs inside poll
        self.assign_error = None
        self.early = []  # a message fetched while waiting for the assignment
        self.fetched = deque()  # records of the last consume() not handed out yet
        self.closed = False
        self.consumer = Consumer(config)
        self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        try:
            self._wait_for_assignment(subscribe_timeout)
        except BaseException:
            run_blocking(self.consumer.close)
            raise

    def _wait_for_assignment(self, timeout):
        deadline = time.monotonic() + timeout
        while not self.assigned:
            if self.assign_error is not None:
                raise BrokerUnavailable(
                    f"Kafka could not assign {self.topic!r}: {self.assign_error}"
                )
            if time.monotonic() > deadline:
                raise BrokerUnavailable(
                    f"Kafka did not assign {self.topic!r} to this consumer within {timeout}s"
                )
            message = self._poll_driver(0.1)
            if message is not None:
                self.early.append(message)

    def _on_assign(self, consumer, partitions):
        # librdkafka calls this from inside poll(); an exception escaping it would
        # surface from poll as a bare KafkaError, so failures are kept and raised later.
        try:
            if self.assigned:
                # A rejoin (after an outage, say): the offsets committed at the first
                # assignment or since are where to go on; librdkafka reads them itself.
                consumer.assign(partitions)
                return
            self._first_assignment(consumer, partitions)
        except Exception as error:  # KafkaError is not a KafkaException
            self.assign_error = error

    def _first_assignment(self, consumer, partitions):
        positions = consumer.committed(partitions, timeout=self.commit_timeout)
        unstarted = [p for p in positions if p.offset < 0]  # no committed offset yet
        for partition in unstarted:
            # Resolving "latest" lazily, after subscribe() returned, could skip messages
            # published in between: pin the start to the current end now.
            partition.offset = self._end_offset(consumer, partition)
        consumer.assign(positions)
        # Committing that start means a rejoin after an outage resumes here instead of
        # jumping to a later end and skipping what was published meanwhile.
        self._commit_quietly(unstarted)
        self.assigned = True

    def _end_offset(self, consumer, partition, attempts=10):
        """The partition's end; a topic just created may not have its leader yet."""
        for _ in range(attempts - 1):
            try:
                return self._high_watermark(consumer, partition)
            except Exception:
                time.sleep(0.2)
        return self._high_watermark(consumer, partition)

    def _high_watermark(self, consumer, partition):
        _low, high = consumer.get_watermark_offsets(
            partition, timeout=self.commit_timeout, cached=False
        )
        return high

    def _on_revoke(self, consumer, partitions):
        self.fetched.clear()  # not handed out yet: the partitions' next owner reads them
        self._commit_quietly(self._acked_positions())
        self.offsets.forget([p.partition for p in partitions])
        consumer.unassign()

    def _commit_quietly(self, positions):
        """Commit synchronously; a failure only means some messages come again (at least once)."""
        if not positions:
            return
        try:
            self.consumer.commit(offsets=positions, asynchronous=False)
        except KafkaException as error:
            pool_log.warning("Committing offsets of %s failed: %s", self.topic, error)

    def poll_many(self, timeout, limit):
        self._commit_if_due()
        batch, self.early = self.early[:limit], self.early[limit:]
        if not batch and not self.fetched:
            self._check_assignment()
            # One trip to the native thread pool per batch, not per message: the
            # hand-off (queue, condition, wake-up) costs more than handling a message.
            take = partial(_take_batch, self.consumer, timeout, CONSUME_BATCH)
            self.fetched.extend(_call(take, "consume"))
        while self.fetched and len(batch) < limit:
            message = self._message_of(self.fetched.popleft())
            if message is not None:
                batch.append(message)
        return batch

    def _check_assignment(self):
        if self.assign_error is not None and self.assigned:
            raise BrokerUnavailable(f"Kafka could not reassign {self.topic!r}: {self.assign_error}")

    def _poll_driver(self, timeout):
        self._check_assignment()
        return self._message_of(_call(partial(self.consumer.poll, timeout), "poll"))

    def _message_of(self, record):
        if record is None:
            return None
        if (error := record.error()) is not None:
            if error.fatal() or not (error.retriable() or error.code() in TRANSIENT_ERRORS):
                raise BrokerUnavailable(f"Kafka consumer error: {error}")
            return None
        self.offsets.delivered(record.partition(), record.offset())
        key = record.key()
        return Message(
            topic=record.topic(),
            value=record.value(),
            key=key.decode() if key is not None else None,
            headers={name: value.decode() for name, value in record.headers() or []},
            receipt=(record.partition(), record.offset()),
        )

    def ack_many(self, messages):
        if self.offsets.acked_many(message.receipt for message in messages):
            self.uncommitted = True
        self._commit_if_due()

    def _commit_if_due(self):
        # One commit request per ack would queue heartbeats behind thousands of commits
        # and time the session out; commits go out at most every `commit_interval`.
        if not self.uncommitted or time.monotonic() < self.next_commit_at:
            return
        self.uncommitted = False
        self.next_commit_at = time.monotonic() + self.commit_interval
        commit = partial(self.consumer.commit, offsets=self._acked_positions(), asynchronous=True)
        _call(commit, "commit")

    def _acked_positions(self):
        return [
            TopicPartition(self.topic, partition, offset)
            for partition, offset in self.offsets.resume_at.items()
        ]

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            run_blocking(partial(self._commit_quietly, self._acked_positions()))
        finally:
            run_blocking(self.consumer.close)


def _take_batch(consumer, timeout, limit):
    """Wait up to `timeout` for one record, then take what is already fetched, up to `limit`.

    Not `consume(limit, timeout)` alone: that waits until `limit` records came or
    the timeout passed, which at low traffic would add the whole timeout to latency.
    """
    first = consumer.poll(timeout)
    if first is None:
        return []
    return [first, *consumer.consume(num_messages=limit - 1, timeout=0)]


def _call(function, what):
    """Run a blocking librdkafka call off the hub; driver errors become BrokerUnavailable."""
    try:
        return run_blocking(function)
    except KafkaException as error:
        raise BrokerUnavailable(f"Kafka {what} failed: {error}") from error


class KafkaBroker(Broker):
    """Kafka behind the Broker interface; `kafka://host:9092[,host:9092]`."""

    scheme = "kafka"
    connection_errors = (*Broker.connection_errors, KafkaException)

    def __init__(self, url, **options):
        super().__init__(url, **options)
        self.bootstrap_servers = urlsplit(url).netloc
        self.publish_timeout = float(options.get("publish_timeout", 5.0))
        self.check_timeout = float(options.get("check_timeout", 2.5))
        self.subscribe_timeout = float(options.get("subscribe_timeout", 15.0))
        self.extra_config = dict(options.get("kafka_config", {}))
        self.debug = options.get("debug", "")  # librdkafka debug contexts, e.g. "cgrp,fetch"
        self._publish_lock = threading.Lock()
        self._producer = None
        self._admin = None
        self._known_topics = set()

    def _client_config(self, settings=None):
        return {
            "bootstrap.servers": self.bootstrap_servers,
            "logger": librdkafka_log,
            "socket.connection.setup.timeout.ms": int(self.check_timeout * 1000),
            **({"debug": self.debug} if self.debug else {}),
            **(settings or {}),
            **self.extra_config,
        }

    def _producer_client(self):
        if self._producer is None:
            settings = {
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": self.options.get("linger_ms", 2),
                # A message not delivered in time fails the flush instead of waiting on.
                "message.timeout.ms": int(self.publish_timeout * 1000),
            }
            self._producer = Producer(self._client_config(settings))
        return self._producer

    def _admin_client(self):
        if self._admin is None:
            self._admin = AdminClient(self._client_config())
        return self._admin

    def publish_many(self, messages):
        messages = list(messages)
        for topic in {message.topic for message in messages}:
            self.ensure_topic(topic)
        with self._publish_lock:
            producer = self._producer_client()
            failures = []
            for message in messages:
                self._produce(producer, message, failures)
            left = _call(partial(producer.flush, self.publish_timeout + 1.0), "flush")
            if left or failures:
                # The outbox republishes the whole batch: drop what is still queued so
                # it cannot arrive later, after the retry, out of order.
                producer.purge()
                _call(partial(producer.flush, 0), "flush")
                reason = failures[0] if failures else f"{left} still queued"
                raise BrokerUnavailable(f"Kafka did not accept the batch: {reason}")

    @staticmethod
    def _produce(producer, message, failures):
        def on_delivery(error, _record):
            if error is not None:
                failures.append(error)

        try:
            producer.produce(
                message.topic,
                message.value,
                key=message.key,
                headers=dict(message.headers),
                on_delivery=on_delivery,
            )
        except (BufferError, KafkaException) as error:
            producer.purge()
            raise BrokerUnavailable(f"Kafka refused a message: {error}") from error

    def ensure_topic(self, topic):
        """Create `topic` (partitions and replication from the options) unless it exists."""
        if topic in self._known_topics:
            return
        admin = self._admin_client()
        metadata = _call(partial(admin.list_topics, timeout=self.check_timeout), "metadata")
        if topic not in metadata.topics:
            self._create_topic(admin, topic)
        self._known_topics.add(topic)

    def _create_topic(self, admin, topic):
        new_topic = NewTopic(
            topic,
            num_partitions=int(self.options.get("partitions", 3)),
            replication_factor=int(self.options.get("replication_factor", 1)),
        )
        future = admin.create_topics([new_topic], request_timeout=self.publish_timeout)[topic]
        try:
            run_blocking(partial(future.result, timeout=self.publish_timeout + 1.0))
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise BrokerUnavailable(f"Kafka could not create {topic!r}: {error}") from error
        except TimeoutError as error:
            raise BrokerUnavailable(f"Kafka did not create {topic!r} in time") from error

    def subscribe(self, topic, *, group, durable=False):
        # Kafka keeps every group's committed offsets (offsets.retention.minutes, a week
        # by default, after its last consumer left), so `durable` needs nothing more: a
        # group resumes from its commits, and only a group new to a partition starts
        # at its end ("latest").
        # Look again rather than trust the cache: a broker that is down fails here within
        # check_timeout instead of after a whole subscribe_timeout of waiting for a group.
        self._known_topics.discard(topic)
        self.ensure_topic(topic)
        config = self._client_config(
            {
                "group.id": group,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "latest",
                # librdkafka's 500 ms default would be the delivery latency at low traffic.
                "fetch.wait.max.ms": self.options.get("fetch_wait_max_ms", 10),
                "session.timeout.ms": self.options.get("session_timeout_ms", 6000),
            }
        )
        try:
            return KafkaSubscription(
                topic,
                config,
                subscribe_timeout=self.subscribe_timeout,
                commit_timeout=self.check_timeout,
                commit_interval=float(self.options.get("commit_interval", 0.2)),
            )
        except KafkaException as error:
            raise BrokerUnavailable(f"Kafka subscription to {topic!r} failed: {error}") from error

    def backlog(self, topic, groups):
        try:
            return group_lag(self._admin_client(), topic, groups, timeout=self.check_timeout)
        except BrokerUnavailable:
            # After a broker restart, an admin client kept timing out on the group
            # coordinator for minutes (while metadata calls worked): start a new one.
            self._admin = None
            raise

    def check(self):
        admin = self._admin_client()
        try:
            run_blocking(partial(admin.list_topics, timeout=self.check_timeout))
        except KafkaException as error:
            raise BrokerUnavailable(
                f"Kafka at {self.bootstrap_servers} did not answer within "
                f"{self.check_timeout}s: {error}"
            ) from error

    def close(self):
        producer, self._producer, self._admin = self._producer, None, None
        if producer is not None and run_blocking(partial(producer.flush, self.publish_timeout)):
            logger.warning("Closed the Kafka producer with messages still undelivered")
