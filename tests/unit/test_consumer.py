"""The consumer loop (app/delivery/consumer.py) on the in-process memory broker:
retries, messages held behind a user's retry, dead letters and ordered acks.

The only database touch, `dead_letters.record`, is replaced by a list.
"""

import threading
from uuid import uuid4

import pytest

from app.brokers.memory import MemoryBroker
from app.delivery import consumer as consumer_module
from app.delivery import dead_letters, events
from app.delivery.consumer import EventConsumer
from app.ids import new_id

WAIT = 5.0  # bound of every wait; reached only when the consumer misbehaves
TOPIC, DEAD_LETTER_TOPIC = "herald.notifications", "herald.dead-letters"


class Recorder:
    """A list that can be waited on until it satisfies a condition."""

    def __init__(self):
        self.items = []
        self.condition = threading.Condition()

    def append(self, item):
        with self.condition:
            self.items.append(item)
            self.condition.notify_all()

    def wait_for(self, predicate):
        with self.condition:
            assert self.condition.wait_for(lambda: predicate(self.items), WAIT), self.items
            return list(self.items)


class Handler:
    """Records the events it handled; fails on demand, per notification id."""

    def __init__(self):
        self.handled = Recorder()
        self.attempts = Recorder()  # every call, failed or not
        self.failures = {}  # notification id -> how many calls fail before one succeeds
        self.gates = {}  # notification id -> event the succeeding call waits for

    def __call__(self, event):
        key = getattr(event, "notification_id", event.user_id)
        self.attempts.append(key)
        if self.failures.get(key, 0) > 0:
            self.failures[key] -= 1
            raise RuntimeError(f"delivery of {key} failed")
        gate = self.gates.get(key)
        if gate is not None:
            assert gate.wait(WAIT)
        self.handled.append(key)


class RecordingSubscription:
    """A real memory subscription that also records each `ack_many` call."""

    def __init__(self, subscription, acks):
        self.subscription, self.acks = subscription, acks

    def poll_many(self, timeout, limit):
        return self.subscription.poll_many(timeout, limit)

    def ack_many(self, messages):
        self.subscription.ack_many(messages)
        self.acks.append([message.value for message in messages])

    def close(self):
        self.subscription.close()


@pytest.fixture
def broker():
    # A network of its own, so no other test's topics leak in.
    return MemoryBroker(f"memory://{uuid4().hex}")


@pytest.fixture
def dead_lettered(monkeypatch):
    recorded = Recorder()

    def record(message, **fields):
        recorded.append((message, fields))

    monkeypatch.setattr(dead_letters, "record", record)
    return recorded


def make_consumer(broker, handler, *, max_attempts=5):
    return EventConsumer(
        broker,
        handler,
        topic=TOPIC,
        dead_letter_topic=DEAD_LETTER_TOPIC,
        group=f"test-{uuid4().hex}",
        instance_id="unit",
        max_attempts=max_attempts,
        base_delay=0.01,
    )


def notification_payload(user_id, notification_id=None):
    data = {"id": notification_id or new_id(), "userId": user_id, "title": "hi"}
    return events._dump({"type": events.NOTIFICATION, "data": data})


def take(broker, subscription, *payloads):
    """Publish `payloads` and take them off `subscription` as the consumer would get them."""
    for payload in payloads:
        broker.publish(TOPIC, payload)
    messages = subscription.poll_many(WAIT, len(payloads))
    assert [message.value for message in messages] == list(payloads)
    return messages


def test_a_failing_delivery_is_retried_while_other_users_go_ahead(broker):
    handler = Handler()
    consumer = make_consumer(broker, handler)
    subscription = broker.subscribe(TOPIC, group=consumer.group)
    alice, bob = new_id(), new_id()
    first, later, other = new_id(), new_id(), new_id()
    handler.failures[first] = 2
    handler.gates[first] = gate = threading.Event()  # its third attempt waits for the test

    messages = take(
        broker,
        subscription,
        notification_payload(alice, first),
        notification_payload(alice, later),
        notification_payload(bob, other),
    )
    for message in messages:
        consumer.process(message)

    # Bob's message went through at once; Alice's later one waits behind her retry.
    handler.attempts.wait_for(lambda calls: calls.count(first) == 3)
    assert handler.handled.items == [other]
    assert later not in handler.attempts.items

    gate.set()
    handled = handler.handled.wait_for(lambda items: len(items) == 3)
    assert handled == [other, first, later], "Alice's messages keep their order"


def test_acks_go_out_in_arrival_order_and_only_for_finished_messages(broker):
    handler = Handler()
    consumer = make_consumer(broker, handler)
    acks = Recorder()
    subscription = RecordingSubscription(broker.subscribe(TOPIC, group=consumer.group), acks)
    retried, finished = new_id(), new_id()
    handler.failures[retried] = 1
    handler.gates[retried] = gate = threading.Event()
    payloads = [notification_payload(new_id(), retried), notification_payload(new_id(), finished)]
    for message in take(broker, subscription, *payloads):
        consumer.process(message)
    handler.handled.wait_for(lambda items: items == [finished])

    # The later message is handled, but the first is still being retried: Kafka's
    # commit covers every earlier offset, so nothing may be acknowledged yet.
    consumer._ack_finished(subscription)
    assert acks.items == []

    gate.set()
    handler.handled.wait_for(lambda items: len(items) == 2)
    consumer._ack_finished(subscription)
    assert acks.items == [payloads], "both, in the order they arrived, in one call"


def test_a_message_failing_every_attempt_is_dead_lettered_and_releases_the_next(
    broker, dead_lettered
):
    handler = Handler()
    consumer = make_consumer(broker, handler, max_attempts=3)
    subscription = broker.subscribe(TOPIC, group=consumer.group)
    letters = broker.subscribe(DEAD_LETTER_TOPIC, group="operators")
    alice, doomed, after = new_id(), new_id(), new_id()
    handler.failures[doomed] = 99
    payloads = [notification_payload(alice, doomed), notification_payload(alice, after)]
    for message in take(broker, subscription, *payloads):
        consumer.process(message)

    [(message, fields)] = dead_lettered.wait_for(lambda items: len(items) == 1)
    assert message.value == payloads[0]
    assert fields["attempts"] == 3
    assert f"delivery of {doomed} failed" in fields["error"]
    assert fields["instance_id"] == "unit"
    assert handler.attempts.items.count(doomed) == 3

    [letter] = letters.poll_many(WAIT, 10)
    assert letter.value == payloads[0]
    assert letter.headers["herald-attempts"] == "3"
    assert letter.headers["herald-original-topic"] == TOPIC

    # Giving up settles the message: Alice's next one is delivered after it.
    handler.handled.wait_for(lambda items: items == [after])


def test_a_malformed_message_is_dead_lettered_at_once(broker, dead_lettered):
    handler = Handler()
    consumer = make_consumer(broker, handler)
    acks = Recorder()
    subscription = RecordingSubscription(broker.subscribe(TOPIC, group=consumer.group), acks)
    letters = broker.subscribe(DEAD_LETTER_TOPIC, group="operators")
    [message] = take(broker, subscription, b"\xffnot an event")

    consumer.process(message)

    # No retry for what can never be decoded: recorded before process returns.
    [(recorded, fields)] = dead_lettered.items
    assert recorded.value == b"\xffnot an event"
    assert fields["attempts"] == 1
    assert "not a Herald event" in fields["error"]
    assert handler.attempts.items == []
    assert [letter.value for letter in letters.poll_many(WAIT, 10)] == [b"\xffnot an event"]
    consumer._ack_finished(subscription)
    assert acks.items == [[b"\xffnot an event"]]


def test_a_started_consumer_delivers_and_acknowledges_what_is_published(broker, monkeypatch):
    # Short polls, so the loop notices `stop` quickly once the test is done.
    monkeypatch.setattr(consumer_module, "IDLE_POLL", 0.05)
    acks = Recorder()
    subscribe = broker.subscribe
    monkeypatch.setattr(
        broker,
        "subscribe",
        lambda topic, *, group: RecordingSubscription(subscribe(topic, group=group), acks),
    )
    handler = Handler()
    consumer = make_consumer(broker, handler)
    consumer.start()
    try:
        assert consumer.subscribed.wait(WAIT)
        user_id = new_id()
        payload = events.encode_presence(user_id=user_id, username="x", connected=True)
        broker.publish(TOPIC, payload)
        handler.handled.wait_for(lambda items: items == [user_id])
        acks.wait_for(lambda items: items == [[payload]])
    finally:
        consumer.stop()
