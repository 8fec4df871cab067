"""Preferences over the API, obeyed by the email channel and admin broadcasts; the delivery log."""

import pytest

from tests.channels.helpers import email_status


def test_preferences_start_from_the_defaults_and_change_only_what_is_named(api, alice):
    defaults = api.get("/api/users/me/preferences", account=alice)
    assert defaults.status_code == 200
    body = defaults.json()
    assert body["channels"] == {"email": True, "push": True}
    assert body["types"]["email"] == {"message": True, "post": True, "alert": True}

    changed = api.put(
        "/api/users/me/preferences",
        account=alice,
        json={"channels": {"push": False}, "types": {"email": {"post": False}}},
    )
    assert changed.status_code == 200, changed.text
    again = api.put(
        "/api/users/me/preferences", account=alice, json={"types": {"email": {"alert": False}}}
    ).json()
    assert again == api.get("/api/users/me/preferences", account=alice).json()
    assert again["channels"] == {"email": True, "push": False}
    assert again["types"]["email"] == {"message": True, "post": False, "alert": False}
    assert again["types"]["push"]["post"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"channels": {"pigeon": False}},
        {"types": {"sms": {"message": False}}},
        {"types": {"email": {"no-such-type": False}}},
        {"channels": {"email": "no"}},
        {"channels": {"email": 0}},
        {"types": {"email": False}},
        {"channels": ["email"]},
        {"colour": "blue"},
    ],
)
def test_bad_preferences_are_a_422_in_the_one_shape_and_change_nothing(api, bob, body):
    before = api.get("/api/users/me/preferences", account=bob).json()
    # A valid change named beside the bad one is not applied either.
    answer = api.put(
        "/api/users/me/preferences",
        account=bob,
        json={**body, "channels": body.get("channels", {"push": False})},
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert error["code"] == 422 and error["status"] and error["message"]
    assert api.get("/api/users/me/preferences", account=bob).json() == before


def test_admin_broadcasts_respect_preferences(emailing, mailpit, admin):
    live = emailing()
    api = live.api
    boss = api.login(admin.id, admin.username, admin.email, admin.password)
    bob, carol = api.register("bob"), api.register("carol")
    off = api.put("/api/users/me/preferences", account=bob, json={"channels": {"email": False}})
    assert off.status_code == 200
    sent = api.post(
        "/api/notifications/broadcast",
        account=boss,
        json={"userIds": [bob.id, carol.id], "message": "maintenance tonight", "type": "alert"},
    )
    assert sent.status_code == 201, sent.text

    inbox = {
        account.username: api.get("/api/notifications", account=account).json()["items"][0]
        for account in (bob, carol)
    }
    email_status(api, carol, inbox[carol.username]["id"], "sent")
    skipped = email_status(api, bob, inbox[bob.username]["id"], "skipped")
    assert skipped["reason"] == "turned off"
    assert [m["Subject"] for m in mailpit.wait_for(carol.email)] == [
        f"{admin.username}: maintenance tonight"
    ]
    assert mailpit.messages_to(bob.email) == []
    # The delivery log: the recipient and admins see it; anyone else gets a 404.
    assert (
        api.get(f"/api/notifications/{inbox[bob.username]['id']}/deliveries", account=boss).json()[
            "items"
        ][0]["status"]
        == "skipped"
    )
    other = api.get(f"/api/notifications/{inbox[bob.username]['id']}/deliveries", account=carol)
    assert other.status_code == 404 and other.json()["code"] == 404
    missing = api.get("/api/notifications/not-an-id/deliveries", account=carol)
    assert missing.status_code == 404
