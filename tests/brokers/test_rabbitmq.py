"""The broker contract against a real RabbitMQ broker."""

import pytest

from tests.brokers.contract import NetworkBrokerContract
from tests.support.services import free_port


class TestRabbitMQBroker(NetworkBrokerContract):
    @pytest.fixture
    def broker_url(self, rabbitmq_service):
        return rabbitmq_service.url

    @pytest.fixture
    def unreachable_url(self):
        return f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"
