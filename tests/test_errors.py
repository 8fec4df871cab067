"""One error shape for every error, and no stack traces, over real HTTP."""

import pytest

from tests.support.clients import Api
from tests.support.processes import HeraldProcess
from tests.support.servers import LiveServer
from tests.support.services import free_port

SHAPE = {"code", "status", "message", "errors"}


def assert_error(response, status):
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == SHAPE and body["code"] == status
    assert "Traceback" not in response.text
    return body


def test_unknown_route_is_404(api):
    assert_error(api.get("/api/nothing-here"), 404)


def test_wrong_method_is_405_with_allow(api):
    response = api.delete("/api/login")
    assert_error(response, 405)
    assert "POST" in response.headers["Allow"]


def test_malformed_json_is_400(api, alice):
    response = api.post(
        "/api/notifications",
        account=alice,
        data="{nope",
        headers={"Content-Type": "application/json"},
    )
    assert assert_error(response, 400)["message"] == "The request body is not valid JSON."


def test_non_json_body_is_415(api, alice, bob):
    response = api.post(
        "/api/notifications",
        account=alice,
        data=f"userId={bob.id}&message=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, 415)
    assert api.get("/api/notifications", account=bob).json()["meta"]["total"] == 0


def test_oversized_body_is_413_and_changes_nothing(api, alice, bob, server):
    limit = server.app.config["MAX_CONTENT_LENGTH"]
    response = api.post(
        "/api/notifications",
        account=alice,
        json={"userId": bob.id, "message": "x", "data": {"b": "x" * limit}},
    )
    assert_error(response, 413)
    assert api.get("/api/notifications", account=bob).json()["meta"]["total"] == 0


def test_validation_errors_are_422_per_field(api):
    body = assert_error(api.post("/api/register", json={"username": "x"}), 422)
    assert set(body["errors"]["json"]) == {"username", "email", "password"}


def test_unexpected_errors_are_500_without_details(make_config):
    def add_broken_route(app):
        @app.get("/boom")
        def boom():
            raise RuntimeError("secret internals")

    live = LiveServer(make_config(BACKGROUND_TASKS=False), setup=add_broken_route)
    try:
        response = Api(live.url).get("/boom")
        body = assert_error(response, 500)
        assert "secret" not in response.text and body["message"]
    finally:
        live.stop()


def test_database_outage_is_503():
    herald = HeraldProcess(
        {
            "HERALD_ENV": "testing",
            "MONGODB_URI": f"mongodb://127.0.0.1:{free_port()}/unreachable",
            "MONGODB_TIMEOUT_MS": "300",
            "JWT_SECRET_KEY": "outage-test-secret-0123456789abcdef",
            "ACCESS_LOG": "",
        }
    ).start(ready_path="/healthz")
    try:
        response = Api(herald.url).post(
            "/api/register",
            json={"username": "nobody", "email": "nobody@example.test", "password": "longenough"},
        )
        body = assert_error(response, 503)
        assert response.headers["Retry-After"]
        assert "database" in body["message"].lower()
        assert_error(Api(herald.url).get("/readyz"), 503)
    finally:
        herald.stop()


@pytest.mark.parametrize("path", ["/api/users/me", "/api/notifications"])
def test_jwt_errors_use_the_shape(api, path):
    assert_error(api.get(path), 401)
