"""Registration, login, tokens and roles, over HTTP against a running Herald."""

import uuid
from datetime import timedelta

import pymongo
import pytest
from flask_jwt_extended import create_access_token


def unique(prefix="u"):
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_register_returns_user_without_password(api):
    name = unique()
    response = api.post(
        "/api/register",
        json={"username": name, "email": f"{name.upper()}@Example.test", "password": "longenough"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == name
    assert body["email"] == f"{name}@example.test"
    assert body["role"] == "user"
    assert uuid.UUID(body["id"])
    assert not any("password" in key for key in body)


def test_password_is_stored_as_bcrypt_hash(api, mongodb_uri):
    account = api.register()
    with pymongo.MongoClient(mongodb_uri) as client:
        stored = client.get_default_database().users.find_one({"_id": account.id})
    assert stored["password_hash"].startswith("$2b$")
    assert account.password not in str(stored)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@example.test", "password": "longenough"}, "username"),
        ({"username": "ab", "email": "a@example.test", "password": "longenough"}, "username"),
        ({"username": "x" * 33, "email": "a@example.test", "password": "longenough"}, "username"),
        (
            {"username": "bad name!", "email": "a@example.test", "password": "longenough"},
            "username",
        ),
        ({"username": "okname", "email": "not-an-email", "password": "longenough"}, "email"),
        ({"username": "okname", "email": "a@example.test", "password": "short"}, "password"),
        ({"username": "okname", "email": "a@example.test"}, "password"),
        # 37 characters, 74 bytes: more than bcrypt reads
        ({"username": "okname", "email": "a@example.test", "password": "é" * 37}, "password"),
    ],
)
def test_register_rejects_invalid_input(api, body, field):
    response = api.post("/api/register", json=body)
    assert response.status_code == 422
    error = response.json()
    assert set(error) == {"code", "status", "message", "errors"}
    assert field in error["errors"]["json"]


def test_register_ignores_a_role_in_the_body(api):
    name = unique()
    response = api.post(
        "/api/register",
        json={
            "username": name,
            "email": f"{name}@example.test",
            "password": "longenough",
            "role": "admin",
        },
    )
    # Unknown fields are refused outright, so nobody can make themselves admin.
    assert response.status_code == 422
    assert "role" in response.json()["errors"]["json"]
    assert (
        api.post("/api/login", json={"username": name, "password": "longenough"}).status_code == 401
    )


def test_taken_username_or_email_is_409(api, alice):
    same_name = api.post(
        "/api/register",
        json={"username": alice.username, "email": "other@example.test", "password": "longenough"},
    )
    same_email = api.post(
        "/api/register",
        json={"username": unique(), "email": alice.email.upper(), "password": "longenough"},
    )
    assert same_name.status_code == 409 and "username" in same_name.json()["errors"]
    assert same_email.status_code == 409 and "email" in same_email.json()["errors"]


def test_login_by_username_or_email(api, alice):
    by_name = api.post("/api/login", json={"username": alice.username, "password": alice.password})
    by_email = api.post("/api/login", json={"email": alice.email, "password": alice.password})
    for response in (by_name, by_email):
        assert response.status_code == 200
        assert {"access_token", "refresh_token"} <= set(response.json())


def test_wrong_credentials_give_the_same_401(api, alice):
    wrong_password = api.post(
        "/api/login", json={"username": alice.username, "password": "nope-nope"}
    )
    unknown_user = api.post("/api/login", json={"username": unique(), "password": "nope-nope"})
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json() == unknown_user.json()


def test_a_password_longer_than_bcrypt_reads_is_wrong_not_an_error(api, alice):
    response = api.post("/api/login", json={"username": alice.username, "password": "é" * 37})
    assert response.status_code == 401


def test_me_and_refresh(api, alice):
    me = api.get("/api/users/me", account=alice)
    assert me.status_code == 200
    assert me.json()["id"] == alice.id and me.json()["connected"] is False

    refreshed = api.post(
        "/api/token/refresh", headers={"Authorization": f"Bearer {alice.refresh_token}"}
    )
    assert refreshed.status_code == 200
    token = refreshed.json()["access_token"]
    assert api.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_refresh_token_is_not_an_access_token_and_back(api, alice):
    assert (
        api.get(
            "/api/users/me", headers={"Authorization": f"Bearer {alice.refresh_token}"}
        ).status_code
        == 401
    )
    assert api.post("/api/token/refresh", account=alice).status_code == 401


@pytest.mark.parametrize("header", [None, "Bearer not.a.token", "Basic abc", "Bearer "])
def test_bad_tokens_get_401_in_the_error_shape(api, header):
    headers = {"Authorization": header} if header else {}
    response = api.get("/api/users/me", headers=headers)
    assert response.status_code == 401
    assert set(response.json()) == {"code", "status", "message", "errors"}


def test_expired_token_is_401(server, api, alice):
    with server.app.app_context():
        token = create_access_token(identity=alice.id, expires_delta=timedelta(seconds=-5))
    response = api.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_admin_bootstrap_and_roles(api, admin, alice):
    assert api.get("/api/users/me", account=admin).json()["role"] == "admin"

    as_user = api.get("/api/users", account=alice)
    assert as_user.status_code == 200
    assert all("email" not in item for item in as_user.json()["items"])

    as_admin = api.get("/api/users", account=admin, params={"username": alice.username})
    assert as_admin.json()["items"][0]["email"] == alice.email

    forbidden = api.put(f"/api/users/{alice.id}/role", account=alice, json={"role": "admin"})
    assert forbidden.status_code == 403
    promoted = api.put(f"/api/users/{alice.id}/role", account=admin, json={"role": "admin"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"


def test_create_admin_cli(make_config, api):
    from app import create_app

    app = create_app(make_config(BACKGROUND_TASKS=False))
    name = unique("ops")
    result = app.test_cli_runner().invoke(
        args=["create-admin", name, f"{name}@example.test", "--password", "cli-password-1"]
    )
    assert result.exit_code == 0, result.output
    tokens = api.post("/api/login", json={"username": name, "password": "cli-password-1"})
    me = api.get(
        "/api/users/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert me.json()["role"] == "admin"
