"""The broker contract against a real RabbitMQ broker."""

import pytest

from tests.brokers.contract import (
    NetworkBrokerContract,
    collect,
    publish_numbered,
    unique,
    values,
)
from tests.support.services import free_port


class TestRabbitMQBroker(NetworkBrokerContract):
    @pytest.fixture
    def broker_url(self, rabbitmq_service):
        return rabbitmq_service.url

    @pytest.fixture
    def unreachable_url(self):
        return f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"

    def test_acks_in_and_out_of_arrival_order_settle_exactly_those_messages(
        self, broker, topic, subscribe
    ):
        """In-order acks go as one `multiple` ack; it must not settle an unacked message."""
        group = unique("group")
        subscription = subscribe(group)
        received = collect(subscription, len(publish_numbered(broker, topic, 10)), ack=False)

        subscription.ack_many(received[:3])  # in order
        subscription.ack_many([received[6], received[5]])  # ahead of 3 and 4
        subscription.poll_many(0.2, 10)
        subscription.ack_many([received[3], received[7]])  # 3 now in order, 7 still ahead of 4
        subscription.poll_many(0.2, 10)
        assert subscription.channel.is_open  # no ack for an unknown or settled tag
        subscription.close()

        assert values(collect(subscribe(group), 3)) == ["message 4", "message 8", "message 9"]
