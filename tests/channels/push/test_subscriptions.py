"""The push subscriptions API: the VAPID key, storing, listing and deleting one's own."""

import base64

import pytest

from app.channels.push import vapid

ERROR_SHAPE = {"code", "status", "message", "errors"}


def assert_error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_SHAPE and body["code"] == status
    return body


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_the_public_key_is_the_configured_keys(push_api, vapid_key, server_key):
    assert server_key == vapid.public_key(vapid_key)
    assert len(base64.urlsafe_b64decode(server_key + "=")) == 65  # an uncompressed point


def test_a_server_without_a_key_says_push_is_off(api):
    assert_error(api.get("/api/push/vapid-public-key"), 404)


def test_subscribing_is_idempotent_per_endpoint(push_api, push_service, server_key, database):
    alice, bob = push_api.register("alice"), push_api.register("bob")
    subscription = push_service.subscribe(server_key)
    created = push_api.post("/api/push-subscriptions", account=alice, json=subscription)
    assert created.status_code == 201, created.text
    assert created.json()["endpoint"] == subscription["endpoint"]
    assert "keys" not in created.json()  # the auth secret stays on the server

    renewed = {**subscription, "keys": push_service.subscribe(server_key)["keys"]}
    again = push_api.post("/api/push-subscriptions", account=alice, json=renewed)
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    stored = database.push_subscriptions.find_one({"endpoint": subscription["endpoint"]})
    assert stored["p256dh"] == renewed["keys"]["p256dh"]

    # Bob signs in on the same browser: the endpoint is his now, and only his.
    moved = push_api.post("/api/push-subscriptions", account=bob, json=renewed)
    assert moved.status_code == 200
    assert push_api.get("/api/push-subscriptions", account=alice).json() == {"items": []}
    assert [
        s["id"] for s in push_api.get("/api/push-subscriptions", account=bob).json()["items"]
    ] == [created.json()["id"]]


def test_one_deletes_only_ones_own(push_api, push_service, server_key):
    alice, bob = push_api.register("alice"), push_api.register("bob")
    created = push_api.post(
        "/api/push-subscriptions", account=alice, json=push_service.subscribe(server_key)
    ).json()
    assert_error(push_api.delete(f"/api/push-subscriptions/{created['id']}", account=bob), 404)
    assert (
        push_api.delete(f"/api/push-subscriptions/{created['id']}", account=alice).status_code
        == 204
    )
    assert push_api.get("/api/push-subscriptions", account=alice).json() == {"items": []}
    assert_error(push_api.delete(f"/api/push-subscriptions/{created['id']}", account=alice), 404)
    assert_error(push_api.get("/api/push-subscriptions"), 401)


NOT_ON_CURVE = b64(b"\x04" + b"\x01" * 64)
BAD_INPUT = {
    "no endpoint": lambda s: {"keys": s["keys"]},
    "http endpoint elsewhere": lambda s: {**s, "endpoint": "http://push.example.test/x"},
    "not a URL": lambda s: {**s, "endpoint": "push me"},
    "an internal address": lambda s: {**s, "endpoint": "https://10.0.0.7/push/x"},
    "an unclosed IPv6 host": lambda s: {**s, "endpoint": "https://[::1/x"},
    "a port that is no number": lambda s: {**s, "endpoint": "https://p.example.test:99999x/"},
    "endpoint too long": lambda s: {**s, "endpoint": "https://p.example.test/" + "a" * 2100},
    "no keys": lambda s: {"endpoint": s["endpoint"]},
    "p256dh not base64url": lambda s: {**s, "keys": {**s["keys"], "p256dh": "not base64!"}},
    "p256dh compressed": lambda s: {
        **s,
        "keys": {**s["keys"], "p256dh": b64(b"\x02" + b"\x01" * 32)},
    },
    "p256dh off the curve": lambda s: {**s, "keys": {**s["keys"], "p256dh": NOT_ON_CURVE}},
    "auth of 15 bytes": lambda s: {**s, "keys": {**s["keys"], "auth": b64(b"a" * 15)}},
    "auth missing": lambda s: {**s, "keys": {"p256dh": s["keys"]["p256dh"]}},
    "expirationTime a string": lambda s: {**s, "expirationTime": "tomorrow"},
    "expirationTime negative": lambda s: {**s, "expirationTime": -1},
    "an unknown field": lambda s: {**s, "extra": 1},
}


@pytest.mark.parametrize("case", BAD_INPUT, ids=list(BAD_INPUT))
def test_invalid_subscriptions_are_refused_and_nothing_is_stored(
    push_api, push_service, server_key, database, case
):
    alice = push_api.register("alice")
    body = BAD_INPUT[case](push_service.subscribe(server_key))
    error = assert_error(push_api.post("/api/push-subscriptions", account=alice, json=body), 422)
    assert error["errors"]
    assert database.push_subscriptions.count_documents({"user_id": alice.id}) == 0


def test_deleting_the_account_deletes_its_subscriptions(
    push_api, push_service, server_key, database
):
    alice = push_api.register("alice")
    push_api.post("/api/push-subscriptions", account=alice, json=push_service.subscribe(server_key))
    assert database.push_subscriptions.count_documents({"user_id": alice.id}) == 1
    deleted = push_api.delete("/api/users/me", account=alice, json={"password": alice.password})
    assert deleted.status_code == 204, deleted.text
    assert database.push_subscriptions.count_documents({"user_id": alice.id}) == 0
