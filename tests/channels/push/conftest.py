"""Web Push fixtures: a VAPID key, the tests' push service, a Herald that may push to it."""

import pymongo
import pytest

from app.channels.push import vapid
from tests.support.clients import Api
from tests.support.push_service import PushService
from tests.support.servers import LiveServer


@pytest.fixture(scope="session")
def vapid_key():
    """The test servers' VAPID private key (base64url raw), made for this run."""
    return vapid.generate()


@pytest.fixture(scope="module")
def push_herald(make_config, vapid_key):
    """A Herald with a VAPID key, allowed to push to http://127.0.0.1 endpoints."""
    live = LiveServer(
        make_config(
            VAPID_PRIVATE_KEY=vapid_key,
            VAPID_SUBJECT="mailto:ops@herald.test",
            PUSH_ALLOW_LOOPBACK_HTTP=True,
            PUSH_TTL=600,
            PUSH_URGENCY_BY_TYPE={"alert": "high"},
        )
    )
    yield live
    live.stop()


@pytest.fixture
def push_api(push_herald):
    return Api(push_herald.url)


@pytest.fixture
def push_service():
    with PushService() as service:
        yield service


@pytest.fixture
def server_key(push_api):
    """The applicationServerKey, as a browser fetches it."""
    response = push_api.get("/api/push/vapid-public-key")
    assert response.status_code == 200, response.text
    return response.json()["publicKey"]


@pytest.fixture
def database(mongodb_uri):
    with pymongo.MongoClient(mongodb_uri, serverSelectionTimeoutMS=3000) as client:
        yield client.get_default_database()
