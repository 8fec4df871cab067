"""The broker contract on the in-memory adapter (fast; no server)."""

import uuid

import pytest

from tests.brokers.contract import BrokerContract


class TestMemoryBroker(BrokerContract):
    @pytest.fixture
    def broker_url(self):
        return f"memory://{uuid.uuid4().hex}"
