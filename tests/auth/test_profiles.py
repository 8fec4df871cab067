"""Editing one's profile and deleting one's account, over real HTTP and WebSockets.

What a deletion leaves behind is read straight from the database: the API can
no longer show a deleted user's data, so only the collections can tell that it
is gone rather than hidden.
"""

import io
import uuid

import pymongo
import pytest
import websocket
from PIL import Image

from tests.support.clients import Api

ERROR_SHAPE = {"code", "status", "message", "errors"}
POLICY_VIOLATION = 1008
PROFILE_FIELDS = ("username", "email", "displayName", "bio", "pictureUrl")


def assert_error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_SHAPE and body["code"] == status
    return body


def me(api, account):
    response = api.get("/api/users/me", account=account)
    assert response.status_code == 200, response.text
    return response.json()


def profile(api, account):
    return {field: me(api, account)[field] for field in PROFILE_FIELDS}


def patch_me(api, account, body):
    return api.request("PATCH", "/api/users/me", account=account, json=body)


@pytest.fixture
def database(mongodb_uri):
    with pymongo.MongoClient(mongodb_uri, serverSelectionTimeoutMS=3000) as client:
        yield client.get_default_database()


def test_a_new_user_has_an_empty_profile(api, alice):
    assert profile(api, alice) == {
        "username": alice.username,
        "email": alice.email,
        "displayName": None,
        "bio": "",
        "pictureUrl": None,
    }


def test_patch_changes_the_profile_and_the_new_username_signs_in(api, alice, bob):
    name = f"renamed_{uuid.uuid4().hex[:8]}"
    changes = {
        "username": name,
        "email": f"{name.upper()}@Example.TEST",
        "displayName": "Alice Liddell",
        "bio": "Curiouser and curiouser.",
    }
    response = patch_me(api, alice, changes)
    assert response.status_code == 200, response.text
    expected = {
        "username": name,
        "email": f"{name}@example.test",  # normalised like at registration
        "displayName": "Alice Liddell",
        "bio": "Curiouser and curiouser.",
        "pictureUrl": None,
    }
    assert {field: response.json()[field] for field in PROFILE_FIELDS} == expected
    assert profile(api, alice) == expected
    listed = api.get("/api/users", account=bob, params={"username": name}).json()["items"]
    assert [(u["id"], u["displayName"], u["bio"]) for u in listed] == [
        (alice.id, "Alice Liddell", "Curiouser and curiouser.")
    ]
    login = api.post("/api/login", json={"username": name, "password": alice.password})
    assert login.status_code == 200
    old = api.post("/api/login", json={"username": alice.username, "password": alice.password})
    assert old.status_code == 401


def test_one_field_alone_changes_only_it_and_null_removes_the_display_name(api, alice):
    assert patch_me(api, alice, {"displayName": "Al"}).status_code == 200
    assert patch_me(api, alice, {"bio": "Hi"}).status_code == 200
    assert me(api, alice)["displayName"] == "Al"
    assert patch_me(api, alice, {"displayName": None}).status_code == 200
    after = me(api, alice)
    assert (after["displayName"], after["bio"], after["username"]) == (None, "Hi", alice.username)


@pytest.mark.parametrize("field", ["username", "email"])
def test_a_taken_username_or_email_is_409_and_changes_nothing(api, alice, bob, field):
    before = profile(api, alice)
    taken = {"username": bob.username, "email": bob.email.upper()}[field]
    response = patch_me(api, alice, {field: taken, "displayName": "Not applied"})
    body = assert_error(response, 409)
    assert field in body["errors"]
    assert profile(api, alice) == before


def test_keeping_ones_own_username_is_no_conflict(api, alice):
    response = patch_me(api, alice, {"username": alice.username, "email": alice.email})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "x"},
        {"username": "has space"},
        {"email": "not-an-email"},
        {"displayName": ""},
        {"displayName": "   "},
        {"displayName": "x" * 65},
        {"bio": "x" * 501},
        {"role": "admin"},
        {"bio": "fine", "password": "sneaky-new-one"},
    ],
)
def test_invalid_changes_are_422_and_change_nothing(api, alice, body):
    before = profile(api, alice)
    assert_error(patch_me(api, alice, body), 422)
    assert profile(api, alice) == before
    assert me(api, alice)["role"] == "user"


def test_the_longest_display_name_and_bio_are_accepted(api, alice):
    response = patch_me(api, alice, {"displayName": "d" * 64, "bio": "b" * 500})
    assert response.status_code == 200, response.text
    assert patch_me(api, alice, {"bio": ""}).json()["bio"] == ""


def _png():
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(out, "PNG")
    return out.getvalue()


def _leftovers(database, user_id):
    """How many documents of each kind still name `user_id`."""
    either = [{"sender_id": user_id}, {"recipient_id": user_id}]
    return {
        "users": database.users.count_documents({"_id": user_id}),
        "notifications": database.notifications.count_documents({"user_id": user_id}),
        "inbox_changes": database.inbox_changes.count_documents({"user_id": user_id}),
        "messages": database.messages.count_documents({"$or": either}),
        "conversations": database.conversations.count_documents({"participants": user_id}),
        "blocks": database.blocks.count_documents(
            {"$or": [{"blocker": user_id}, {"blocked": user_id}]}
        ),
        "pictures": database.pictures.count_documents({"_id": user_id}),
    }


def _give_alice_everything(api, alice, bob, carol):
    """Notifications, messages both ways, blocks both ways and a picture."""
    received = [api.notify(bob, alice, f"for alice {n}")["id"] for n in range(3)]
    api.put(f"/api/notifications/{received[0]}", account=alice, json={"read": True})
    sent = api.notify(alice, bob, "from alice")["id"]
    for sender, recipient in [(alice, bob), (bob, alice), (alice, carol)]:
        response = api.post(
            f"/api/conversations/{recipient.id}/messages", account=sender, json={"text": "hi"}
        )
        assert response.status_code == 201, response.text
    assert api.put(f"/api/users/{carol.id}/block", account=alice).status_code == 204
    assert api.put(f"/api/users/{alice.id}/block", account=bob).status_code == 204
    picture = api.put(
        "/api/users/me/picture",
        account=alice,
        files={"picture": ("me.png", _png(), "image/png")},
    )
    assert picture.status_code == 200, picture.text
    return sent


def _delete_me(api, account, password):
    return api.delete("/api/users/me", account=account, json={"password": password})


def test_a_wrong_password_deletes_nothing(api, alice, bob, database):
    carol = api.register("carol")
    _give_alice_everything(api, alice, bob, carol)
    before = _leftovers(database, alice.id)
    assert_error(_delete_me(api, alice, "not-the-password"), 403)
    assert_error(api.delete("/api/users/me", account=alice, json={}), 422)
    assert _leftovers(database, alice.id) == before
    assert me(api, alice)["id"] == alice.id


def test_deleting_the_account_deletes_what_it_owns_and_closes_its_sockets(
    server, api, alice, bob, database, sockets
):
    carol = api.register("carol")
    sent_to_bob = _give_alice_everything(api, alice, bob, carol)
    socket = sockets(server.url, alice)
    assert socket.receive_type("ready") is not None
    assert all(_leftovers(database, alice.id).values())

    assert _delete_me(api, alice, alice.password).status_code == 204

    assert socket.wait_closed(10) == POLICY_VIOLATION
    assert _leftovers(database, alice.id) == dict.fromkeys(_leftovers(database, alice.id), 0)
    assert_error(api.get("/api/users/me", account=alice), 401)
    assert_error(api.post("/api/token/refresh", headers=_bearer(alice.refresh_token)), 401)
    login = api.post("/api/login", json={"username": alice.username, "password": alice.password})
    assert_error(login, 401)
    assert_error(api.get(f"/api/users/{alice.id}/picture"), 404)
    # What alice sent bob stays in his inbox; their conversation is gone from his list.
    assert api.get(f"/api/notifications/{sent_to_bob}", account=bob).status_code == 200
    assert api.get("/api/conversations", account=bob).json()["items"] == []
    assert api.get("/api/users/me/blocks", account=bob).json()["items"] == []
    # Her username and email are free again.
    again = api.post(
        "/api/register",
        json={"username": alice.username, "email": alice.email, "password": "correct-horse-2"},
    )
    assert again.status_code == 201, again.text


def test_a_new_socket_of_a_deleted_user_is_refused(server, api, alice):
    assert _delete_me(api, alice, alice.password).status_code == 204
    url = server.url.replace("http://", "ws://") + f"/ws?token={alice.access_token}"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=5)
    assert refused.value.status_code == 401


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("how", ["delete", "logout-everywhere"])
def test_a_socket_on_another_instance_is_closed_too(own_server, sockets, how):
    """The other instance checks the revoked token from its broker consumer, outside any
    request, and after a deletion once the user may be gone: a token whose user no
    longer exists counts as revoked."""
    broker_url = f"memory://{uuid.uuid4().hex}"
    here, there = own_server(BROKER_URL=broker_url), own_server(BROKER_URL=broker_url)
    api = Api(here.url)
    alice = api.register("alice")
    socket = sockets(there.url, alice)
    assert socket.receive_type("ready") is not None
    if how == "delete":
        assert _delete_me(api, alice, alice.password).status_code == 204
    else:
        logout = api.post("/api/logout", account=alice, json={"everywhere": True})
        assert logout.status_code == 204
    assert socket.wait_closed(10) == POLICY_VIOLATION


def test_a_renamed_bootstrap_admin_is_found_again_at_the_next_start(own_server):
    name = f"boss_{uuid.uuid4().hex[:8]}"
    settings = {
        "ADMIN_USERNAME": name,
        "ADMIN_EMAIL": f"{name}@example.test",
        "ADMIN_PASSWORD": "boss-password-1",
        "BACKGROUND_TASKS": False,
    }
    api = Api(own_server(**settings).url)
    tokens = api.post("/api/login", json={"username": name, "password": "boss-password-1"})
    bearer = _bearer(tokens.json()["access_token"])
    renamed = api.request("PATCH", "/api/users/me", headers=bearer, json={"username": name + "_x"})
    assert renamed.status_code == 200, renamed.text

    again = Api(own_server(**settings).url)  # the same settings: no second admin, no crash
    login = again.post("/api/login", json={"username": name + "_x", "password": "boss-password-1"})
    assert login.status_code == 200, login.text
    me = again.get("/api/users/me", headers=_bearer(login.json()["access_token"])).json()
    assert (me["id"], me["role"]) == (renamed.json()["id"], "admin")
