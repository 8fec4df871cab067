"""GraphQL clients this project did not write: `gql` over HTTP and WebSocket."""

import pytest
from gql import Client
from gql.transport.requests import RequestsHTTPTransport

from tests.support.servers import LiveServer


@pytest.fixture(scope="package")
def server(make_config):
    """A Herald of these tests' own: their subscriptions and streams stay out of the
    session server's hub, whose socket counts other tests read."""
    live = LiveServer(make_config())
    yield live
    live.stop()


@pytest.fixture
def graphql(server):
    """`graphql(account=None)`: a gql client of the session server, as that account."""
    clients = []

    def client(account=None, url=None):
        headers = account.auth if account is not None else {}
        transport = RequestsHTTPTransport(
            url=(url or server.url) + "/graphql", headers=headers, timeout=15, retries=0
        )
        session = Client(transport=transport).connect_sync()
        clients.append(session)
        return session

    yield client
    for session in clients:
        session.client.close_sync()
