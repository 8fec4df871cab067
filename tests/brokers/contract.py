"""The contract every broker adapter meets, run against each real broker (kombu style).

A subclass provides a `broker_url` fixture; brokers behind a network subclass
`NetworkBrokerContract` and also provide an `unreachable_url`. Every test uses
topic and group names of its own, so runs on a shared broker do not interfere.
Waits are bounded: `collect` polls until it has the messages it expects or a
deadline passes.
"""

import time
import uuid

import pytest

from app.brokers import OutgoingMessage, create_broker

OPTIONS = {"publish_timeout": 3.0, "check_timeout": 1.5, "subscribe_timeout": 30.0}
DELIVERY_TIMEOUT = 20.0


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def collect(subscription, count, *, timeout=DELIVERY_TIMEOUT, ack=True):
    """Poll until `count` messages arrived or `timeout` passed; ack each unless told not to."""
    deadline = time.monotonic() + timeout
    messages = []
    while len(messages) < count and (left := deadline - time.monotonic()) > 0:
        message = subscription.poll(min(left, 0.5))
        if message is not None:
            if ack:
                subscription.ack(message)
            messages.append(message)
    return messages


def values(messages):
    return [message.value.decode() for message in messages]


def publish_numbered(broker, topic, count):
    """Publish "message 0" .. "message <count-1>" with one key, as one batch; their texts."""
    sent = [f"message {n}" for n in range(count)]
    broker.publish_many([OutgoingMessage(topic, v.encode(), key="user-1") for v in sent])
    return sent


class BrokerContract:
    @pytest.fixture
    def broker_url(self):
        raise NotImplementedError("a BrokerContract subclass provides `broker_url`")

    @pytest.fixture
    def broker(self, broker_url):
        broker = create_broker(broker_url, **OPTIONS)
        yield broker
        broker.close()

    @pytest.fixture
    def topic(self):
        return unique("herald-contract")

    @pytest.fixture
    def subscribe(self, broker, topic):
        """Open a subscription to the test's topic (a fresh group unless given); closed after."""
        opened = []

        def open_subscription(group=None):
            subscription = broker.subscribe(topic, group=group or unique("group"))
            opened.append(subscription)
            return subscription

        yield open_subscription
        for subscription in opened:
            subscription.close()

    def test_round_trip_keeps_value_key_and_headers(self, broker, topic, subscribe):
        subscription = subscribe()
        headers = {"content-type": "application/json", "herald-event": "notification"}
        broker.publish(topic, b'{"hello": "world"}', key="user-1", headers=headers)

        [message] = collect(subscription, 1)
        assert message.topic == topic
        assert message.value == b'{"hello": "world"}'
        assert message.key == "user-1"
        assert message.headers == headers

    def test_messages_with_one_key_keep_their_order(self, broker, topic, subscribe):
        subscription = subscribe()
        keys = [f"user-{n}" for n in range(5)]
        sent = [(keys[n % len(keys)], f"{keys[n % len(keys)]}:{n}") for n in range(200)]
        for key, value in sent:
            broker.publish(topic, value.encode(), key=key)

        received = collect(subscription, len(sent))
        assert len(received) == len(sent)
        for key in keys:
            expected = [value for sent_key, value in sent if sent_key == key]
            assert [m.value.decode() for m in received if m.key == key] == expected

    def test_every_group_receives_every_message(self, broker, topic, subscribe):
        first_instance, second_instance = subscribe(), subscribe()
        sent = [f"message {n}" for n in range(10)]
        for value in sent:
            broker.publish(topic, value.encode(), key="user-1")

        assert values(collect(first_instance, len(sent))) == sent
        assert values(collect(second_instance, len(sent))) == sent

    def test_unacknowledged_messages_go_to_the_groups_next_subscription(
        self, broker, topic, subscribe
    ):
        group = unique("group")
        first = subscribe(group)
        for value in ("handled", "not handled 1", "not handled 2"):
            broker.publish(topic, value.encode(), key="user-1")
        assert values(collect(first, 1)) == ["handled"]
        assert values(collect(first, 1, ack=False)) == ["not handled 1"]
        first.close()

        second = subscribe(group)
        assert values(collect(second, 2)) == ["not handled 1", "not handled 2"]
        second.close()

        third = subscribe(group)
        broker.publish(topic, b"new", key="user-1")
        # A redelivered message would come before the new one.
        assert values(collect(third, 1)) == ["new"]

    def test_publish_many_delivers_the_whole_batch_in_order(self, broker, topic, subscribe):
        subscription = subscribe()
        batch = [
            OutgoingMessage(topic, f"batch {n}".encode(), key="user-1", headers={"n": str(n)})
            for n in range(50)
        ]
        broker.publish_many(batch)

        received = collect(subscription, len(batch))
        assert values(received) == [m.value.decode() for m in batch]
        assert [m.headers for m in received] == [m.headers for m in batch]

    def test_poll_many_takes_what_is_at_hand_in_order_and_ack_many_settles_it(
        self, broker, topic, subscribe
    ):
        group = unique("group")
        subscription = subscribe(group)
        sent = publish_numbered(broker, topic, 30)

        batches, deadline = [], time.monotonic() + DELIVERY_TIMEOUT
        while sum(map(len, batches)) < len(sent) and time.monotonic() < deadline:
            batches.append(subscription.poll_many(0.5, 7))
        received = [message for batch in batches for message in batch]
        assert values(received) == sent
        assert max(map(len, batches)) > 1, "every poll_many handed out a single message"
        assert max(map(len, batches)) <= 7

        subscription.ack_many(received[:20])
        subscription.close()
        # What was acknowledged is settled for the group; the rest comes again.
        assert values(collect(subscribe(group), 10)) == sent[20:]

    def test_a_message_acked_ahead_of_an_older_one_leaves_the_older_one_unsettled(
        self, broker, topic, subscribe
    ):
        group = unique("group")
        subscription = subscribe(group)
        sent = publish_numbered(broker, topic, 6)
        received = collect(subscription, len(sent), ack=False)
        assert values(received) == sent

        # A retry holds message 2 back while the ones after it are handled.
        subscription.ack_many(received[:2])
        subscription.ack_many([received[4], received[3]])
        subscription.poll_many(0.2, 10)  # a read, which also writes what was acked
        subscription.close()

        # Message 2 comes again and first; those before it are settled. (Whether 3 and 4
        # come again depends on the broker: Kafka resumes from the oldest unacked offset.)
        again = values(collect(subscribe(group), 1))
        assert again == ["message 2"]

    def test_check_passes_on_a_live_broker(self, broker):
        broker.check()

    def test_poll_returns_none_when_nothing_comes(self, subscribe):
        subscription = subscribe()
        assert subscription.poll(0.5) is None
        assert subscription.poll_many(0.3, 10) == []


class NetworkBrokerContract(BrokerContract):
    """The contract plus what a broker across a network owes: failing fast when away."""

    @pytest.fixture
    def unreachable_url(self):
        raise NotImplementedError("a NetworkBrokerContract subclass provides `unreachable_url`")

    def test_an_unreachable_broker_raises_instead_of_hanging(self, unreachable_url):
        broker = create_broker(unreachable_url, **OPTIONS)
        try:
            with pytest.raises(broker.connection_errors):
                broker.check()
            with pytest.raises(broker.connection_errors):
                broker.publish(unique("herald-contract"), b"lost", key="user-1")
        finally:
            broker.close()
