"""The token lifecycle over real HTTP and WebSockets: rotation, logout, password change, expiry."""

from datetime import timedelta

import pymongo
import pytest
from flask_jwt_extended import create_access_token

from tests.support.clients import Api
from tests.support.servers import LiveServer

POLICY_VIOLATION = 1008


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def me_status(api, token):
    return api.get("/api/users/me", headers=bearer(token)).status_code


def refresh(api, refresh_token):
    return api.post("/api/token/refresh", headers=bearer(refresh_token))


def test_refresh_rotates_and_a_reused_refresh_token_revokes_everything(api, alice):
    first = refresh(api, alice.refresh_token)
    assert first.status_code == 200
    pair = first.json()
    assert pair["refresh_token"] != alice.refresh_token
    assert me_status(api, pair["access_token"]) == 200

    reused = refresh(api, alice.refresh_token)
    assert reused.status_code == 401 and "revoked" in reused.json()["message"]
    # A spent refresh token came back: every token of the user is revoked.
    assert me_status(api, pair["access_token"]) == 401
    assert refresh(api, pair["refresh_token"]).status_code == 401
    assert me_status(api, alice.access_token) == 401


def test_logout_revokes_the_access_and_refresh_token(api, alice, mongodb_uri):
    other_session = api.login(alice.id, alice.username, alice.email, alice.password)
    response = api.post("/api/logout", account=alice, json={"refresh_token": alice.refresh_token})
    assert response.status_code == 204
    assert me_status(api, alice.access_token) == 401
    assert refresh(api, alice.refresh_token).status_code == 401
    assert me_status(api, other_session.access_token) == 200  # only this session ended

    with pymongo.MongoClient(mongodb_uri) as client:
        revoked = list(client.get_default_database().revoked_tokens.find({"user_id": alice.id}))
    assert len(revoked) == 2 and all(entry["expires_at"] for entry in revoked)


def test_logout_everywhere(api, alice):
    other_session = api.login(alice.id, alice.username, alice.email, alice.password)
    assert api.post("/api/logout", account=alice, json={"everywhere": True}).status_code == 204
    for token in (alice.access_token, other_session.access_token):
        assert me_status(api, token) == 401
    assert refresh(api, other_session.refresh_token).status_code == 401


def test_logout_refuses_someone_elses_refresh_token(api, alice, bob):
    response = api.post("/api/logout", account=alice, json={"refresh_token": bob.refresh_token})
    assert response.status_code == 401
    assert refresh(api, bob.refresh_token).status_code == 200


def test_password_change_revokes_every_token(api, alice):
    other_session = api.login(alice.id, alice.username, alice.email, alice.password)
    wrong = api.put(
        "/api/users/me/password",
        account=alice,
        json={"current_password": "not-it-at-all", "new_password": "brand-new-pass"},
    )
    assert wrong.status_code == 401
    short = api.put(
        "/api/users/me/password",
        account=alice,
        json={"current_password": alice.password, "new_password": "short"},
    )
    assert short.status_code == 422

    changed = api.put(
        "/api/users/me/password",
        account=alice,
        json={"current_password": alice.password, "new_password": "brand-new-pass"},
    )
    assert changed.status_code == 200
    for token in (alice.access_token, other_session.access_token):
        assert me_status(api, token) == 401
    assert refresh(api, other_session.refresh_token).status_code == 401
    assert me_status(api, changed.json()["access_token"]) == 200
    login = api.post("/api/login", json={"username": alice.username, "password": "brand-new-pass"})
    assert login.status_code == 200
    old = api.post("/api/login", json={"username": alice.username, "password": alice.password})
    assert old.status_code == 401


@pytest.mark.parametrize("how", ["logout", "password"])
def test_a_revoked_token_closes_its_socket(server, api, alice, how, sockets):
    socket_ = sockets(server.url, alice)
    assert socket_.receive_type("ready") is not None
    if how == "logout":
        api.post("/api/logout", account=alice)
    else:
        api.put(
            "/api/users/me/password",
            account=alice,
            json={"current_password": alice.password, "new_password": "another-password"},
        )
    assert socket_.wait_closed(10) == POLICY_VIOLATION


@pytest.fixture
def short_lived(make_config):
    live = LiveServer(make_config(JWT_ACCESS_TOKEN_EXPIRES=3, WS_TOKEN_CHECK_INTERVAL=0.2))
    yield live
    live.stop()


def test_an_expired_token_closes_the_socket_unless_it_reauthenticates(short_lived, sockets):
    api = Api(short_lived.url)
    alice, bob = api.register("alice"), api.register("bob")
    lapsing = sockets(short_lived.url, bob)
    renewed = sockets(short_lived.url, bob)
    for socket_ in (lapsing, renewed):
        assert socket_.receive_type("ready") is not None

    with short_lived.app.app_context():  # a token that outlives the test
        fresh = create_access_token(
            identity=bob.id, additional_claims={"ver": 0}, expires_delta=timedelta(minutes=5)
        )
    renewed.send({"type": "auth", "token": fresh})
    assert renewed.receive_type("auth.ok") is not None
    renewed.send({"type": "auth", "token": alice.access_token})  # not bob's: refused
    assert renewed.receive_type("error")["error"]["code"] == 401

    assert lapsing.wait_closed(15) == POLICY_VIOLATION
    # The renewed socket outlived the first token and still delivers.
    sender = api.login(alice.id, alice.username, alice.email, alice.password)
    created = api.notify(sender, bob, "still connected")
    assert renewed.receive_type("notification", timeout=5)["data"]["id"] == created["id"]


def test_a_rejected_logout_revokes_nothing(api, alice):
    refused = api.post("/api/logout", account=alice, json={"refresh_token": "garbage"})
    assert refused.status_code == 401
    assert me_status(api, alice.access_token) == 200
    assert refresh(api, alice.refresh_token).status_code == 200
