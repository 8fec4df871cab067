"""/readyz tells why an instance should get no sockets: a consumer far behind, an old outbox.

In-process servers on the real database; the consumer or the relay of the
instance is stopped, as a stuck one would be, while its heartbeat goes on.
"""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.clients import Api, wait_until


def not_ready_because(api):
    response = api.get("/readyz")
    if response.status_code != 503:
        return None
    body = response.json()
    assert set(body) == {"code", "status", "message", "errors"}
    return body["errors"]


@pytest.fixture(params=["memory", "rabbitmq"])
def broker_url(request, make_config):
    if request.param == "memory":
        return make_config().BROKER_URL
    return request.getfixturevalue("rabbitmq_service").url


def test_a_consumer_over_its_lag_threshold_makes_the_instance_unready(own_server, broker_url):
    live = own_server(READY_MAX_CONSUMER_LAG=2, BROKER_URL=broker_url)
    api = Api(live.url)
    sender, bob = api.register("sender"), api.register("bob")
    assert api.get("/readyz").json()["checks"]["consumer_lag"] == "ok"

    live.node.consumer.stop()  # it stops after its current poll; then every one adds lag
    reasons = wait_until(
        lambda: api.notify(sender, bob, "waiting") and not_ready_because(api),
        timeout=20,
        interval=0.2,
    )
    assert reasons, "/readyz stayed 200 with the consumer standing still"
    assert "behind the broker" in reasons["consumer_lag"]
    assert "READY_MAX_CONSUMER_LAG is 2" in reasons["consumer_lag"]
    assert reasons["database"] == "ok" and reasons["broker"] == "ok"


def test_an_old_outbox_entry_makes_the_instance_unready(own_server):
    live = own_server(READY_MAX_OUTBOX_AGE=1)
    api = Api(live.url)
    sender, bob = api.register("sender"), api.register("bob")
    assert api.get("/readyz").json()["checks"]["outbox"] == "ok"

    live.node.relay.stop()  # nothing leaves the outbox any more
    api.notify(sender, bob, "stuck")
    reasons = wait_until(lambda: not_ready_because(api), timeout=10)
    assert reasons, "/readyz stayed 200 with a notification stuck in the outbox"
    assert "1 notification(s) waiting" in reasons["outbox"]
    assert "READY_MAX_OUTBOX_AGE is 1s" in reasons["outbox"]


def test_zero_turns_the_checks_off(own_server):
    live = own_server(READY_MAX_OUTBOX_AGE=0, READY_MAX_CONSUMER_LAG=0, METRICS_PUBLIC=True)
    api = Api(live.url)
    sender, bob = api.register("sender"), api.register("bob")
    live.node.relay.stop()
    api.notify(sender, bob, "kept")
    # Older than any threshold but 0 would allow, as /metrics reads it.
    assert wait_until(lambda: oldest_outbox_age(api) >= 1.5, timeout=10)
    ready = api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["outbox"] == "ok"


def oldest_outbox_age(api):
    for family in text_string_to_metric_families(api.get("/metrics").text):
        if family.name == "herald_outbox_oldest_age_seconds":
            return family.samples[0].value
    return 0.0
