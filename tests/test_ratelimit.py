"""Rate limits, each shown against a running Herald with tight limits of its own."""

import pytest
import websocket

from tests.support.clients import Api, Socket
from tests.support.servers import LiveServer
from tests.support.services import ScriptService, free_port

LIMITS = {
    "login_per_address": "4/minute",
    "login_per_account": "2/minute",
    "register_per_address": "3/minute",
    "notify_per_sender": "3/minute",
    "socket_per_address": "2/minute",
}


@pytest.fixture
def limited(make_config):
    """A Herald whose limits are on and small; its counters are its own."""
    live = LiveServer(make_config(RATELIMIT_ENABLED=True, RATELIMITS=dict(LIMITS)))
    yield live
    live.stop()


def assert_limited(response):
    assert response.status_code == 429
    assert set(response.json()) == {"code", "status", "message", "errors"}
    assert int(response.headers["Retry-After"]) >= 1


def login(api, username, password="wrong-password"):
    return api.post("/api/login", json={"username": username, "password": password})


def test_login_is_limited_per_account(limited, make_config):
    api = Api(limited.url)
    assert [login(api, "victim").status_code for _ in range(2)] == [401, 401]
    assert_limited(login(api, "VICTIM"))  # the same account, however it is spelled
    assert login(api, "someone-else").status_code == 401


def test_login_is_limited_per_address(limited):
    api = Api(limited.url)
    assert [login(api, f"user{n}").status_code for n in range(4)] == [401] * 4
    assert_limited(login(api, "user-five"))


def test_register_is_limited_per_address_and_a_refused_one_creates_nothing(limited):
    api = Api(limited.url)
    for _ in range(3):
        api.register("early")
    refused = api.post(
        "/api/register",
        json={"username": "too_late", "email": "late@example.test", "password": "longenough"},
    )
    assert_limited(refused)
    admin = api.post("/api/login", json={"username": "admin", "password": "admin-password-1"})
    token = admin.json()["access_token"]
    found = api.get(
        "/api/users", params={"username": "too_late"}, headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert found["items"] == []


def test_notifying_is_limited_per_sender(make_config):
    live = LiveServer(
        make_config(
            RATELIMIT_ENABLED=True, RATELIMITS={**LIMITS, "register_per_address": "100/minute"}
        )
    )
    try:
        api = Api(live.url)
        alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
        for n in range(3):
            api.notify(alice, bob, f"n{n}")
        refused = api.post(
            "/api/notifications", account=alice, json={"userId": bob.id, "message": "one too many"}
        )
        assert_limited(refused)
        api.notify(carol, bob, "another sender is not held back")
        assert api.get("/api/notifications", account=bob).json()["meta"]["total"] == 4
    finally:
        live.stop()


def test_socket_attempts_are_limited_per_address(limited, sockets):
    api = Api(limited.url)
    bob = api.register("bob")
    with pytest.raises(websocket.WebSocketBadStatusException) as bad_token:
        Socket.open(limited.url, "not-a-token")  # a refused attempt counts too
    assert bad_token.value.status_code == 401
    sockets(limited.url, bob)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        Socket.open(limited.url, bob.access_token)
    assert refused.value.status_code == 429


@pytest.fixture
def shared_counters():
    """A Redis for rate-limit counters that several instances share."""
    redis = ScriptService("redis.sh", free_port()).start()
    try:
        yield redis.address("url")
    finally:
        redis.stop()


def test_limits_count_across_instances_with_a_shared_storage(make_config, shared_counters):
    def instance():
        return LiveServer(
            make_config(
                RATELIMIT_ENABLED=True,
                RATELIMITS=dict(LIMITS),
                RATELIMIT_STORAGE_URI=shared_counters,
            )
        )

    first, second = instance(), instance()
    try:
        assert login(Api(first.url), "shared-victim").status_code == 401
        assert login(Api(second.url), "shared-victim").status_code == 401
        # Two attempts, one on each instance, used up the account's two.
        assert_limited(login(Api(first.url), "shared-victim"))
        assert_limited(login(Api(second.url), "shared-victim"))
    finally:
        first.stop()
        second.stop()
