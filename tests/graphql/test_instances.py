"""Across instances, under gunicorn's gevent worker on a real broker: a subscription on
one instance gets what GraphQL created on another, and so does an event stream."""

import uuid

import pytest
import requests
import websocket

from tests.support.clients import Api, Socket
from tests.support.graphql import NOTIFY, ask
from tests.support.processes import HeraldProcess, herald_env

pytestmark = pytest.mark.slow


@pytest.fixture(params=["kafka", "rabbitmq"])
def broker(request):
    return request.getfixturevalue(f"{request.param}_service")


@pytest.fixture
def instances(broker, mongodb_uri):
    topic = f"herald-graphql-{uuid.uuid4().hex[:8]}"
    env = herald_env(
        mongodb_uri,
        BROKER_URL=broker.url,
        BROKER_TOPIC=topic,
        BROKER_DEAD_LETTER_TOPIC=f"{topic}.dlq",
        OUTBOX_POLL_INTERVAL="0.5",
    )
    started = [HeraldProcess(env), HeraldProcess(env)]
    try:
        for herald in started:
            herald.start(timeout=60)
        yield started
    finally:
        for herald in started:
            herald.stop()


def test_a_subscription_on_one_instance_gets_what_graphql_made_on_another(instances, graphql):
    first, second = instances
    api = Api(first.url)
    alice, bob = api.register("alice"), api.register("bob")
    url = first.url.replace("http://", "ws://") + "/graphql"
    socket = Socket(
        websocket.create_connection(url, timeout=10, subprotocols=["graphql-transport-ws"])
    )
    stream = requests.get(
        f"{first.url}/api/stream",
        headers={**alice.auth, "Accept": "text/event-stream"},
        stream=True,
        timeout=15,
    )
    try:
        socket.send({"type": "connection_init", "payload": {"token": alice.access_token}})
        assert socket.receive(10) == {"type": "connection_ack"}
        query = "subscription { notificationAdded { id message } }"
        socket.send({"id": "1", "type": "subscribe", "payload": {"query": query}})
        socket.send({"type": "ping"})
        assert socket.receive(10) == {"type": "pong"}
        created = ask(graphql(bob, url=second.url), NOTIFY, to=alice.id, message="across")
        notification = created["createNotification"]["notification"]
        got = socket.receive(15)
        assert got["payload"]["data"]["notificationAdded"] == {
            "id": notification["id"],
            "message": "across",
        }
        lines = stream.iter_lines(decode_unicode=True)
        assert f"id: {notification['id']}" in (next(lines) for _ in range(10))
    finally:
        socket.close()
        stream.close()
