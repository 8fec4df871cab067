"""Fixtures: a real MongoDB-protocol server, a running Herald, real HTTP and WebSocket clients.

Unless MONGODB_URI is given, FerretDB (scripts/ferretdb.sh) is started on a
free port with its own data folder and stopped at the end. Every run uses its
own database name, dropped afterwards.
"""

import os
import shutil
import tempfile
import uuid

import pymongo
import pytest

from config import TestingConfig
from tests.support.clients import ADMIN_PASSWORD, Api, Socket
from tests.support.processes import HeraldProcess
from tests.support.servers import LiveServer
from tests.support.services import BackgroundInstall, ScriptService, free_port

pytest_plugins = ["tests.support.broker_fixtures"]


@pytest.fixture(scope="session", autouse=True)
def no_stray_herald_processes():
    """Kill any Herald process a failed test did not stop."""
    yield
    HeraldProcess.kill_all()


@pytest.fixture(scope="session", autouse=True)
def promtool_build():
    """promtool builds from source in minutes on a fresh machine: start it at once, so it
    overlaps the tests before tests/test_dashboards.py, which waits for it."""
    build = BackgroundInstall("promtool.sh")
    yield build
    build.stop()


@pytest.fixture(scope="session", autouse=True)
def mailpit_build():
    """Mailpit (the SMTP server of tests/channels) builds from source in a minute or two on
    a fresh machine: started at once, waited for by the `mailpit` fixture."""
    build = BackgroundInstall("mailpit.sh")
    yield build
    build.stop()


@pytest.fixture(scope="session")
def mongodb_server():
    """The base URI of a MongoDB-protocol server (no database name)."""
    given = os.environ.get("MONGODB_URI")
    if given:
        yield given.rsplit("/", 1)[0] + "/"
        return
    data_dir = tempfile.mkdtemp(prefix="herald-ferretdb-")
    ferretdb = ScriptService("ferretdb.sh", free_port(), "--data", data_dir).start()
    try:
        yield ferretdb.address("uri")
    finally:
        ferretdb.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def mongodb_uri(mongodb_server):
    """A database of this test run's own, dropped at the end."""
    name = f"herald_test_{uuid.uuid4().hex[:8]}"
    yield mongodb_server.rstrip("/") + "/" + name
    with pymongo.MongoClient(mongodb_server, serverSelectionTimeoutMS=3000) as client:
        client.drop_database(name)


@pytest.fixture(scope="session")
def make_config(mongodb_uri):
    """Testing settings on this run's database, with `overrides` applied."""

    def build(**overrides):
        config = TestingConfig()
        config.MONGODB_URI = mongodb_uri
        config.BROKER_URL = f"memory://{uuid.uuid4().hex}"
        config.JWT_SECRET_KEY = "test-secret-that-is-long-enough-0123456789"
        config.PRESENCE_TTL = 3.0
        config.OUTBOX_POLL_INTERVAL = 0.2
        config.ADMIN_USERNAME = "admin"
        config.ADMIN_EMAIL = "admin@example.test"
        config.ADMIN_PASSWORD = ADMIN_PASSWORD
        return config.apply(overrides)

    return build


@pytest.fixture(scope="session")
def server(make_config):
    """One Herald for the session, on the in-memory broker."""
    live = LiveServer(make_config())
    yield live
    live.stop()


@pytest.fixture
def own_server(make_config):
    """Start Heralds of the test's own (`own_server(**settings)`), stopped after the test."""
    servers = []

    def start(wait_for_consumer=True, **overrides):
        live = LiveServer(make_config(**overrides), wait_for_consumer=wait_for_consumer)
        servers.append(live)
        return live

    yield start
    for live in servers:
        live.stop()


@pytest.fixture
def sockets():
    """Open WebSockets (`sockets(url, account_or_token, **kwargs)`), closed after the test."""
    opened = []

    def open_socket(server_url, account_or_token=None, **kwargs):
        token = getattr(account_or_token, "access_token", account_or_token)
        socket = Socket.open(server_url, token, **kwargs)
        opened.append(socket)
        return socket

    yield open_socket
    for socket in opened:
        socket.close()


@pytest.fixture
def api(server):
    return Api(server.url)


@pytest.fixture
def alice(api):
    return api.register("alice")


@pytest.fixture
def bob(api):
    return api.register("bob")


@pytest.fixture
def admin(api):
    tokens = api.post("/api/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert tokens.status_code == 200, tokens.text
    me = api.get(
        "/api/users/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    return api.login(me.json()["id"], "admin", "admin@example.test", ADMIN_PASSWORD)
