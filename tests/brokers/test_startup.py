"""What an operator sees when the broker is missing: a clear message, never a silent hang."""

import sys

import pytest

from app import create_app
from app.brokers import BrokerUnavailable
from tests.support.clients import Api
from tests.support.processes import HeraldProcess, herald_env
from tests.support.services import free_port


@pytest.mark.parametrize(
    ("scheme", "driver", "adapter"),
    [("kafka", "confluent_kafka", "app.brokers.kafka"), ("amqp", "pika", "app.brokers.rabbitmq")],
)
def test_a_missing_driver_is_named_at_start(make_config, monkeypatch, scheme, driver, adapter):
    monkeypatch.setitem(sys.modules, driver, None)  # makes `import <driver>` fail
    monkeypatch.delitem(sys.modules, adapter, raising=False)
    config = make_config(BROKER_URL=f"{scheme}://127.0.0.1:{free_port()}", BACKGROUND_TASKS=False)
    with pytest.raises(BrokerUnavailable, match=r"not installed.*pip install"):
        create_app(config)


def test_an_unknown_scheme_is_refused_at_start(make_config):
    with pytest.raises(BrokerUnavailable, match="Unknown broker URL scheme 'redis'"):
        create_app(make_config(BROKER_URL="redis://127.0.0.1:6379", BACKGROUND_TASKS=False))


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["kafka", "amqp"])
def test_an_unreachable_broker_fails_readiness_with_a_clear_message(mongodb_uri, scheme):
    url = f"{scheme}://127.0.0.1:{free_port()}"
    herald = HeraldProcess(herald_env(mongodb_uri, BROKER_URL=url, BROKER_CHECK_TIMEOUT="1")).start(
        ready_path="/healthz"
    )
    try:
        api = Api(herald.url)
        ready = api.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["errors"]["broker"].startswith(f"unreachable at {url}")
        assert ready.json()["errors"]["consumer"] == "not subscribed"
        # Accepting notifications does not depend on the broker: the outbox keeps them.
        alice, bob = api.register("alice"), api.register("bob")
        assert api.notify(alice, bob)["userId"] == bob.id
        assert f"Cannot consume from the broker at {url}" in herald.log_path.read_text()
    finally:
        herald.stop()
