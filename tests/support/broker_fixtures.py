"""Session fixtures for the real brokers: Kafka and RabbitMQ.

Unless KAFKA_BOOTSTRAP_SERVERS / RABBITMQ_URL name a running broker, each is
started by its script (scripts/kafka.sh, scripts/rabbitmq.sh) on a free port
and stopped at the end of the session. Outage tests can stop, start or kill a
broker that the session started itself (`managed`).
"""

import os
import shutil

import pytest

from tests.support.services import ROOT, ScriptService, free_port


class BrokerService:
    """A broker for the tests: its BROKER_URL and, when we started it, its controls."""

    def __init__(self, url, script_service=None):
        self.url = url
        self.script_service = script_service

    @property
    def managed(self):
        return self.script_service is not None

    def _controls(self):
        if not self.managed:
            reason = f"{self.url} was given from outside; this test cannot stop or start it"
            if os.environ.get("CI"):  # on CI a skip would hide an outage test that never ran
                pytest.fail(reason + " (CI must let the tests start their own brokers)")
            pytest.skip(reason)
        return self.script_service

    def start(self):
        self._controls().start()

    def stop(self):
        self._controls().stop()

    def kill(self):
        self._controls().kill()


def _forget_state(name, port):
    """Delete the data the script kept in .run/<name>-<port>; a session's port is not reused."""
    shutil.rmtree(ROOT / ".run" / f"{name}-{port}", ignore_errors=True)


@pytest.fixture(scope="session")
def kafka_service():
    """Kafka as `kafka://host:port`, from KAFKA_BOOTSTRAP_SERVERS or started for the session."""
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        yield BrokerService(f"kafka://{given}")
        return
    port = free_port()
    kafka = ScriptService("kafka.sh", port).start()
    try:
        yield BrokerService(f"kafka://{kafka.address('bootstrap')}", kafka)
    finally:
        kafka.stop()
        _forget_state("kafka", port)


@pytest.fixture(scope="session")
def rabbitmq_service():
    """RabbitMQ as an amqp:// URL, from RABBITMQ_URL or started for the session."""
    given = os.environ.get("RABBITMQ_URL")
    if given:
        yield BrokerService(given)
        return
    port = free_port()
    rabbitmq = ScriptService("rabbitmq.sh", port).start()
    try:
        yield BrokerService(rabbitmq.address("url"), rabbitmq)
    finally:
        rabbitmq.stop()
        _forget_state("rabbitmq", port)
