"""The notifications REST API against a running Herald."""

import uuid
from datetime import UTC, datetime, timedelta

import pymongo
import pytest

from app import idempotency
from tests.support.clients import Api
from tests.support.servers import LiveServer

FIELDS = {
    "id",
    "userId",
    "senderId",
    "message",
    "type",
    "data",
    "read",
    "readAt",
    "createdAt",
    "editedAt",
}


def test_create_returns_the_stored_notification(api, alice, bob):
    response = api.post(
        "/api/notifications",
        account=alice,
        json={"userId": bob.id, "message": "Build passed", "type": "ci", "data": {"run": 42}},
    )
    assert response.status_code == 201
    created = response.json()
    assert set(created) == FIELDS
    assert created["userId"] == bob.id and created["senderId"] == alice.id
    assert created["read"] is False and created["readAt"] is None
    assert uuid.UUID(created["id"])
    fetched = api.get(f"/api/notifications/{created['id']}", account=bob)
    assert fetched.status_code == 200 and fetched.json() == created


def test_unknown_recipient_is_404_and_creates_nothing(api, alice):
    before = api.get("/api/notifications", account=alice).json()["meta"]["total"]
    for recipient in (str(uuid.uuid4()), "not-a-uuid"):
        response = api.post(
            "/api/notifications", account=alice, json={"userId": recipient, "message": "hi"}
        )
        assert response.status_code == 404
    assert api.get("/api/notifications", account=alice).json()["meta"]["total"] == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": ""}, "message"),
        ({"message": "x" * 2001}, "message"),
        ({}, "message"),
        ({"message": "hi", "data": {"blob": "x" * 4100}}, "data"),
        ({"message": "hi", "data": [1, 2]}, "data"),
        ({"message": "hi", "data": {"a.b": 1}}, "data"),  # the database refuses such keys
        ({"message": "hi", "data": {"ok": [{"$set": 1}]}}, "data"),
        ({"message": "hi", "data": {"x": [2**63]}}, "data"),  # the database stores 8-byte ints
        ({"message": "hi", "data": {"grid": [[1, 2], [3]]}}, "data"),  # nor arrays of arrays
        ({"message": "hi", "extra": 1}, "extra"),
    ],
)
def test_invalid_notifications_are_422_and_change_nothing(api, alice, bob, body, field):
    response = api.post("/api/notifications", account=alice, json={"userId": bob.id, **body})
    assert response.status_code == 422
    assert field in response.json()["errors"]["json"]
    assert api.get("/api/notifications", account=bob).json()["meta"]["total"] == 0


@pytest.mark.parametrize("number", ["NaN", "-Infinity", "1e400"])
def test_numbers_that_json_cannot_carry_are_422_and_change_nothing(api, alice, bob, number):
    # Python's parser takes them; the JSON parsers of the clients (and the broker's) would not.
    body = f'{{"userId": "{bob.id}", "message": "hi", "data": {{"x": [{number}]}}}}'
    headers = {"Content-Type": "application/json"}
    response = api.post("/api/notifications", account=alice, data=body, headers=headers)
    assert response.status_code == 422
    assert "finite" in str(response.json()["errors"]["json"]["data"])
    assert api.get("/api/notifications", account=bob).json()["meta"]["total"] == 0


def test_data_up_to_4kb_is_accepted(api, alice, bob):
    api.notify(alice, bob, data={"blob": "x" * 4000})


def test_idempotency_key_returns_the_first_result(api, alice, bob):
    headers = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    body = {"userId": bob.id, "message": "once"}
    first = api.post("/api/notifications", account=alice, json=body, headers=headers)
    second = api.post("/api/notifications", account=alice, json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert api.get("/api/notifications", account=bob).json()["meta"]["total"] == 1

    # The same key from another sender is another request.
    other = api.post(
        "/api/notifications",
        account=bob,
        json={"userId": alice.id, "message": "once"},
        headers=headers,
    )
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]

    # The same key with another body is refused, and creates nothing.
    changed = api.post(
        "/api/notifications", account=alice, json={**body, "message": "twice"}, headers=headers
    )
    assert changed.status_code == 422
    assert api.get("/api/notifications", account=bob).json()["meta"]["total"] == 1


def test_list_is_own_newest_first_paginated_and_filtered(api, alice, bob):
    sent = [api.notify(alice, bob, f"n{i}")["id"] for i in range(7)]
    api.notify(bob, alice, "for alice")

    page1 = api.get("/api/notifications", account=bob, params={"per_page": 3}).json()
    page3 = api.get("/api/notifications", account=bob, params={"per_page": 3, "page": 3}).json()
    assert [n["id"] for n in page1["items"]] == sent[::-1][:3]
    assert [n["id"] for n in page3["items"]] == [sent[0]]
    assert page1["meta"] == {"page": 1, "perPage": 3, "total": 7, "totalPages": 3}
    assert all(n["userId"] == bob.id for n in page1["items"])

    api.put(f"/api/notifications/{sent[2]}", account=bob)
    read = api.get("/api/notifications", account=bob, params={"read": "true"}).json()
    unread = api.get("/api/notifications", account=bob, params={"read": "false"}).json()
    assert [n["id"] for n in read["items"]] == [sent[2]]
    assert read["meta"]["total"] + unread["meta"]["total"] == 7


@pytest.mark.parametrize(
    "params", [{"per_page": 101}, {"per_page": 0}, {"page": 0}, {"read": "maybe"}, {"page": "x"}]
)
def test_bad_paging_is_422(api, alice, params):
    response = api.get("/api/notifications", account=alice, params=params)
    assert response.status_code == 422
    assert response.json()["errors"]["query"]


def test_others_notifications_are_404(api, alice, bob):
    """Even to their sender, but for an edit or a retraction (see test_inbox_sync.py)."""
    carol = api.register("carol")
    notification = api.notify(alice, bob)
    path = f"/api/notifications/{notification['id']}"
    for someone_else in (alice, carol):
        assert api.get(path, account=someone_else).status_code == 404
        assert api.put(path, account=someone_else).status_code == 404
    assert api.delete(path, account=carol).status_code == 404
    assert api.request("PATCH", path, account=carol, json={"message": "x"}).status_code == 404
    assert api.get(path, account=bob).json()["read"] is False
    assert api.get("/api/notifications/not-an-id", account=bob).status_code == 404


def test_mark_read_is_idempotent_and_can_be_undone(api, alice, bob):
    notification = api.notify(alice, bob)
    path = f"/api/notifications/{notification['id']}"
    first = api.put(path, account=bob)
    again = api.put(path, account=bob)
    assert first.status_code == again.status_code == 200
    assert first.json()["read"] is True and first.json()["readAt"]
    assert again.json()["readAt"] == first.json()["readAt"]
    unread = api.put(path, account=bob, json={"read": False})
    assert unread.json()["read"] is False and unread.json()["readAt"] is None


def test_unread_count_mark_all_and_delete(api, alice, bob):
    ids = [api.notify(alice, bob, f"n{i}")["id"] for i in range(3)]
    assert api.get("/api/notifications/unread-count", account=bob).json() == {"count": 3}
    api.put(f"/api/notifications/{ids[0]}", account=bob)
    assert api.post("/api/notifications/read-all", account=bob).json() == {"count": 2}
    assert api.get("/api/notifications/unread-count", account=bob).json() == {"count": 0}

    assert api.delete(f"/api/notifications/{ids[1]}", account=bob).status_code == 204
    assert api.get(f"/api/notifications/{ids[1]}", account=bob).status_code == 404
    assert api.get("/api/notifications", account=bob).json()["meta"]["total"] == 2


def test_broadcast_is_for_admins(api, admin, alice, bob):
    body = {"userIds": [alice.id, bob.id], "message": "maintenance at noon"}
    assert api.post("/api/notifications/broadcast", account=alice, json=body).status_code == 403
    response = api.post("/api/notifications/broadcast", account=admin, json=body)
    assert response.status_code == 201 and response.json() == {"count": 2}
    for account in (alice, bob):
        items = api.get("/api/notifications", account=account).json()["items"]
        assert [(n["message"], n["senderId"]) for n in items] == [("maintenance at noon", admin.id)]


def test_broadcast_with_unstorable_data_keys_is_422_and_creates_nothing(api, admin, alice):
    body = {"userIds": [alice.id], "message": "hi", "data": {"nested": {"x.y": True}}}
    response = api.post("/api/notifications/broadcast", account=admin, json=body)
    assert response.status_code == 422
    assert "data" in response.json()["errors"]["json"]
    assert api.get("/api/notifications", account=alice).json()["meta"]["total"] == 0


def test_broadcast_with_an_unknown_recipient_creates_nothing(api, admin, alice):
    body = {"userIds": [alice.id, str(uuid.uuid4())], "message": "hi"}
    response = api.post("/api/notifications/broadcast", account=admin, json=body)
    assert response.status_code == 404
    assert api.get("/api/notifications", account=alice).json()["meta"]["total"] == 0


def test_broadcast_to_all(api, admin, alice, mongodb_uri):
    response = api.post(
        "/api/notifications/broadcast", account=admin, json={"all": True, "message": "to everyone"}
    )
    with pymongo.MongoClient(mongodb_uri) as client:
        database = client.get_default_database()
        users = database.users.count_documents({})
        blockers = database.blocks.count_documents({"blocked": admin.id})  # skipped
    assert response.json() == {"count": users - blockers}
    assert (
        api.get("/api/notifications", account=alice).json()["items"][0]["message"] == "to everyone"
    )


@pytest.mark.parametrize(
    "body", [{"message": "hi"}, {"all": True, "userIds": ["x"], "message": "hi"}]
)
def test_broadcast_needs_exactly_one_kind_of_recipients(api, admin, body):
    assert api.post("/api/notifications/broadcast", account=admin, json=body).status_code == 422


@pytest.mark.parametrize("key", ["k" * 256, ""])
def test_an_idempotency_key_out_of_bounds_is_422(api, alice, bob, key):
    response = api.post(
        "/api/notifications",
        account=alice,
        headers={"Idempotency-Key": key},
        json={"userId": bob.id, "message": "hi"},
    )
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["errors"]["headers"]
    assert api.get("/api/notifications", account=bob).json()["meta"]["total"] == 0


def test_broadcast_recipients_are_capped_by_config(make_config):
    live = LiveServer(make_config(BROADCAST_MAX_RECIPIENTS=2))
    try:
        api = Api(live.url)
        admin = api.login(None, "admin", "admin@example.test", "admin-password-1")
        users = [api.register("capped").id for _ in range(3)]
        too_many = api.post(
            "/api/notifications/broadcast", account=admin, json={"userIds": users, "message": "hi"}
        )
        assert too_many.status_code == 422 and "userIds" in too_many.json()["errors"]["json"]
        ok = api.post(
            "/api/notifications/broadcast",
            account=admin,
            json={"userIds": users[:2], "message": "hi"},
        )
        assert ok.json() == {"count": 2}
    finally:
        live.stop()


def age_idempotency_keys(mongodb_uri, sender, hours):
    with pymongo.MongoClient(mongodb_uri) as client:
        client.get_default_database().idempotency_keys.update_many(
            {"_id": {"$regex": f"^{sender.id}:"}},
            {"$set": {"created_at": datetime.now(UTC) - timedelta(hours=hours)}},
        )


def test_an_idempotency_key_is_forgotten_after_a_day(api, alice, bob, mongodb_uri):
    headers = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    body = {"userId": bob.id, "message": "monday"}
    first = api.post("/api/notifications", account=alice, json=body, headers=headers).json()

    age_idempotency_keys(mongodb_uri, alice, hours=23)
    again = api.post("/api/notifications", account=alice, json=body, headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first

    age_idempotency_keys(mongodb_uri, alice, hours=25)
    later = api.post(
        "/api/notifications", account=alice, json={**body, "message": "tuesday"}, headers=headers
    )
    assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
    assert later.json()["id"] != first["id"]
    # From now on the key stands for the new request.
    repeat = api.post(
        "/api/notifications", account=alice, json={**body, "message": "tuesday"}, headers=headers
    )
    assert repeat.headers.get("Idempotent-Replayed") == "true"
    assert repeat.json()["id"] == later.json()["id"]
    assert api.get("/api/notifications", account=bob).json()["meta"]["total"] == 2


def test_expired_idempotency_keys_are_deleted(api, alice, bob, mongodb_uri, monkeypatch):
    monkeypatch.setattr(idempotency, "KEY_PURGE_INTERVAL", 0.0)
    body = {"userId": bob.id, "message": "hi"}
    for key in ("old-1", "old-2"):
        api.post("/api/notifications", account=alice, json=body, headers={"Idempotency-Key": key})
    age_idempotency_keys(mongodb_uri, alice, hours=25)

    api.post("/api/notifications", account=alice, json=body, headers={"Idempotency-Key": "new"})
    with pymongo.MongoClient(mongodb_uri) as client:
        kept = client.get_default_database().idempotency_keys.distinct(
            "_id", {"_id": {"$regex": f"^{alice.id}:"}}
        )
    assert kept == [f"{alice.id}:new"]
