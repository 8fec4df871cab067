"""The email channel against a real SMTP server (Mailpit): what arrives, once, and when."""

import base64
import re

import pytest
import requests

from app import presence
from tests.channels.helpers import deliveries, email_status, notify, wait_until
from tests.channels.mailpit import Mailpit


def test_an_offline_recipient_gets_one_email_with_both_parts_escaped_and_unsubscribe(
    emailing, mailpit
):
    live = emailing()
    live.app.config["PUBLIC_URL"] = live.url
    api = live.api
    alice, bob = api.register("alice"), api.register("bob")
    sent = notify(api, alice, bob, 'Lunch <b>at</b> "noon" & more', type="message")

    [summary] = mailpit.wait_for(bob.email)
    full, headers = mailpit.message(summary["ID"]), mailpit.headers(summary["ID"])
    assert full["Subject"] == f'{alice.username}: Lunch <b>at</b> "noon" & more'
    assert 'Lunch <b>at</b> "noon" & more' in full["Text"]
    assert "Lunch &lt;b&gt;at&lt;/b&gt; &#34;noon&#34; &amp; more" in full["HTML"]
    assert "<b>at</b>" not in full["HTML"]
    assert headers["List-Unsubscribe-Post"] == ["List-Unsubscribe=One-Click"]
    assert headers["X-Herald-Notifications"] == [sent["id"]]
    [link] = re.fullmatch(r"<(.+)>", headers["List-Unsubscribe"][0]).groups()
    assert link.startswith(live.url + "/unsubscribe/")
    assert link in full["Text"]

    email = email_status(api, bob, sent["id"], "sent")
    assert email["attempts"] == 1 and email["sentAt"]

    # GET only asks (link scanners follow links); the one-click POST turns the type off.
    page = requests.get(link, timeout=5)
    assert page.status_code == 200 and "<form" in page.text
    assert api.get("/api/users/me/preferences", account=bob).json()["types"]["email"]["message"]
    done = requests.post(link, data={"List-Unsubscribe": "One-Click"}, timeout=5)
    assert done.status_code == 200 and "unsubscribed" in done.text
    prefs = api.get("/api/users/me/preferences", account=bob).json()
    assert prefs["types"]["email"]["message"] is False and prefs["channels"]["email"] is True
    forged = requests.post(link[:-3] + "abc", data={"List-Unsubscribe": "One-Click"}, timeout=5)
    assert forged.status_code == 404

    second = notify(api, alice, bob, "another message", type="message")
    other = notify(api, alice, bob, "a post", type="post")
    assert email_status(api, bob, second["id"], "skipped")["reason"] == "turned off"
    email_status(api, bob, other["id"], "sent")
    subjects = [m["Subject"] for m in mailpit.wait_for(bob.email, 2)]
    assert subjects == [full["Subject"], f"{alice.username}: a post"]


def test_an_online_recipient_is_emailed_only_what_they_left_unread_after_the_delay(
    emailing, mailpit, sockets
):
    live = emailing(EMAIL_DELAY=1.5)
    api = live.api
    alice, bob = api.register("alice"), api.register("bob")
    socket = sockets(live.url, bob)
    wait_until(lambda: presence.is_online(bob.id))
    read = notify(api, alice, bob, "seen at once")
    unread = notify(api, alice, bob, "left unread")
    socket.receive_type("notification")
    marked = api.put(f"/api/notifications/{read['id']}", account=bob, json={"read": True})
    assert marked.status_code == 200

    email_status(api, bob, unread["id"], "sent")
    email = deliveries(api, bob, read["id"])["email"]
    assert email["status"] == "skipped" and email["reason"] == "read"
    [summary] = mailpit.messages_to(bob.email)
    assert summary["Subject"] == f"{alice.username}: left unread"


def test_notifications_within_the_digest_window_make_one_email(emailing, mailpit):
    live = emailing(EMAIL_DIGEST_WINDOW=1.5)
    api = live.api
    alice, bob = api.register("alice"), api.register("bob")
    sent = [notify(api, alice, bob, f"update {n} <i>") for n in range(3)]

    [summary] = mailpit.wait_for(bob.email)
    full = mailpit.message(summary["ID"])
    assert full["Subject"] == "3 new notifications on Herald"
    for n in range(3):
        assert f"update {n} <i>" in full["Text"]
        assert f"update {n} &lt;i&gt;" in full["HTML"]
    ids = mailpit.headers(summary["ID"])["X-Herald-Notifications"][0].split(",")
    assert sorted(ids) == sorted(s["id"] for s in sent)
    for notification in sent:
        email_status(api, bob, notification["id"], "sent")
    assert len(mailpit.messages_to(bob.email)) == 1


@pytest.fixture
def refusing_mailpit():
    """A Mailpit of the test's own, whose refusals touch no other test."""
    server = Mailpit().start()
    yield server
    server.stop()


@pytest.mark.parametrize("failure", ["451", "550", "down"])
def test_an_smtp_server_refusing_or_down_means_retries_then_a_dead_letter_then_one_email(
    emailing, refusing_mailpit, admin, failure
):
    if failure == "down":
        refusing_mailpit.stop()
        live = emailing(SMTP_URL=refusing_mailpit.smtp_url)
    else:
        refusing_mailpit.refuse(int(failure))
        live = emailing(SMTP_URL=refusing_mailpit.smtp_url)
    api = live.api
    admin_account = api.login(admin.id, admin.username, admin.email, admin.password)
    alice, bob = api.register("alice"), api.register("bob")
    sent = notify(api, alice, bob, "hard to deliver")

    dead = email_status(api, bob, sent["id"], "dead")
    assert dead["attempts"] == 3 and dead["error"]
    letters = api.get(
        "/api/admin/dead-letters", account=admin_account, params={"channel": "email"}
    ).json()["items"]
    [letter] = [
        item for item in letters if sent["id"] in base64.b64decode(item["payload"]).decode()
    ]
    assert letter["channel"] == "email"
    socket_letters = api.get(
        "/api/admin/dead-letters", account=admin_account, params={"channel": "socket"}
    ).json()["items"]
    assert letter["id"] not in {item["id"] for item in socket_letters}

    if failure == "down":
        refusing_mailpit.start()  # (on the same port)
    else:
        refusing_mailpit.refuse(None)
    assert refusing_mailpit.messages_to(bob.email) == []
    replayed = api.post(f"/api/admin/dead-letters/{letter['id']}/replay", account=admin_account)
    assert replayed.status_code == 200, replayed.text
    email_status(api, bob, sent["id"], "sent")
    assert len(refusing_mailpit.wait_for(bob.email)) == 1
