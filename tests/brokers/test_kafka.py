"""The broker contract against a real Kafka broker."""

import pytest

from tests.brokers.contract import NetworkBrokerContract
from tests.support.services import free_port


class TestKafkaBroker(NetworkBrokerContract):
    @pytest.fixture
    def broker_url(self, kafka_service):
        return kafka_service.url

    @pytest.fixture
    def unreachable_url(self):
        return f"kafka://127.0.0.1:{free_port()}"
