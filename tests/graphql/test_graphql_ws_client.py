"""The graphql-transport-ws protocol as the reference client, npm's `graphql-ws` under
Node, speaks it (tests/js/subscribe.mjs)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.clients import wait_until

JS = Path(__file__).resolve().parents[1] / "js"


@pytest.fixture(scope="module")
def node_client():
    if shutil.which("node") is None:
        pytest.fail("node is needed for the graphql-ws client test")
    subprocess.run([str(JS / "install.sh")], check=True, timeout=300)
    started = []

    def run(url, token, query, count):
        process = subprocess.Popen(
            ["node", str(JS / "subscribe.mjs"), url, token, query, str(count)],
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        return process

    yield run
    for process in started:
        process.kill()
        process.wait(10)


def lines_of(process, count):
    """The first `count` JSON lines the client printed (it exits after them)."""
    out, _ = process.communicate(timeout=30)
    return [json.loads(line) for line in out.splitlines()][:count]


def subscriptions_of(server, account):
    return [
        subscription
        for session in server.node.hub.sessions_of(account.id)
        for subscription in getattr(session, "subscriptions", {}).values()
        if not subscription.resuming
    ]


def test_graphql_ws_subscribes_and_receives(server, api, alice, bob, node_client):
    url = server.url.replace("http://", "ws://") + "/graphql"
    query = "subscription { notificationAdded { message } }"
    client = node_client(url, alice.access_token, query, 2)
    assert wait_until(lambda: subscriptions_of(server, alice), timeout=15)
    api.notify(bob, alice, "from python")
    api.notify(bob, alice, "twice")
    connected, *events = lines_of(client, 3)
    assert connected == {"connected": True}
    assert [e["data"]["notificationAdded"]["message"] for e in events] == ["from python", "twice"]


def test_graphql_ws_sees_a_refused_token_as_4403(server, node_client):
    url = server.url.replace("http://", "ws://") + "/graphql"
    client = node_client(url, "not-a-token", "subscription { presenceChanged { userId } }", 1)
    assert lines_of(client, 1) == [{"closed": 4403}]
