"""Security headers, the content security policy, CORS and the WebSocket origin check."""

import pytest
import websocket

from tests.support.clients import Api, Socket
from tests.support.servers import LiveServer

ALLOWED = "https://app.example.test"


def test_every_response_carries_the_security_headers(api):
    for response in (api.get("/healthz"), api.get("/api/nothing"), api.get("/api-docs/")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_swagger_ui_runs_under_a_policy_without_inline_scripts(api):
    page = api.get("/api-docs/")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src" not in policy
    assert "<script>" not in page.text  # every script is a file the policy allows


def test_without_configured_origins_there_is_no_cors(api):
    response = api.get("/healthz", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.fixture
def cors_server(make_config):
    live = LiveServer(make_config(CORS_ALLOWED_ORIGINS=[ALLOWED]))
    yield live
    live.stop()


def test_configured_origins_get_cors_and_others_do_not(cors_server):
    api = Api(cors_server.url)
    preflight = api.request(
        "OPTIONS",
        "/api/notifications",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    other = api.get("/api/users/me", headers={"Origin": "https://evil.example.test"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_socket_origins_are_checked(cors_server):
    api = Api(cors_server.url)
    bob = api.register("bob")
    url = cors_server.url.replace("http://", "ws://") + f"/ws?token={bob.access_token}"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, origin="https://evil.example.test", timeout=5)
    assert refused.value.status_code == 403
    for origin in (ALLOWED, cors_server.url):  # a listed origin, and the same origin
        allowed = Socket(websocket.create_connection(url, origin=origin, timeout=5))
        assert allowed.receive_type("ready") is not None
        allowed.close()
