"""Two devices of one user in Chromium: what one does to the inbox shows on the other
live, without a reload, and so does the sender's edit or retraction (issue 19)."""

import pytest
from playwright.sync_api import expect

from tests.support.clients import Api


def unread_items(page):
    return page.page.locator("#notification-list > li.unread")


def test_reading_deleting_and_reading_all_on_one_device_shows_on_the_other(server, api, open_page):
    alice, bob = api.register("alice"), api.register("bob")
    sent = [api.notify(alice, bob, f"note {number}") for number in range(4)]
    laptop = open_page(server.url).sign_in(bob)
    phone = open_page(server.url).sign_in(bob)
    for device in (laptop, phone):
        expect(device.items).to_have_count(4)
        expect(device.badge).to_have_text("4")

    laptop.mark_read(sent[0]["id"])
    expect(phone.notification(sent[0]["id"])).to_have_attribute("data-read", "true")
    expect(phone.badge).to_have_text("3")

    phone.delete(sent[1]["id"])
    expect(laptop.notification(sent[1]["id"])).to_have_count(0)
    expect(laptop.badge).to_have_text("2")
    expect(phone.notification(sent[1]["id"])).to_have_count(0)

    laptop.mark_all_read()
    for device in (laptop, phone):
        expect(device.badge).to_have_text("0")
        expect(unread_items(device)).to_have_count(0)
        expect(device.items).to_have_count(3)
    assert api.get("/api/notifications/unread-count", account=bob).json() == {"count": 0}


def test_the_senders_edit_and_retraction_show_up_live(server, api, open_page):
    alice, bob = api.register("alice"), api.register("bob")
    bob_page = open_page(server.url).sign_in(bob)
    alice_page = open_page(server.url).sign_in(alice)

    created = alice_page.send(bob.username, "Standup at 10")
    shown = bob_page.notification(created["id"])
    expect(shown.locator(".notification-message")).to_have_text("Standup at 10")

    alice_page.edit_last_sent("Standup at 11")
    expect(shown.locator(".notification-message")).to_have_text("Standup at 11")
    expect(shown.locator(".notification-meta")).to_contain_text("edited")
    expect(bob_page.badge).to_have_text("1")

    alice_page.retract_last_sent()
    expect(shown).to_have_count(0)
    expect(bob_page.badge).to_have_text("0")
    assert api.get(f"/api/notifications/{created['id']}", account=bob).status_code == 404


@pytest.mark.slow
def test_a_device_that_was_away_catches_up_without_a_reload(server, restartable, open_page):
    """The phone's instance is down while the laptop (another instance, same database)
    reads, deletes and is sent an edit; once back, the phone's socket resumes with
    `since` and `seq` and its list and badge converge, with no page reload."""
    herald = restartable
    phone_server = herald.start()
    api = Api(server.url)
    alice, bob = api.register("alice"), api.register("bob")
    sent = [api.notify(alice, bob, f"note {number}") for number in range(3)]
    phone = open_page(phone_server.url).sign_in(bob)
    laptop = open_page(server.url).sign_in(bob)
    expect(phone.badge).to_have_text("3")
    phone.page.evaluate("window.__notReloaded = true")

    herald.crash()
    expect(phone.connection).to_have_text("Reconnecting…")
    laptop.mark_read(sent[0]["id"])
    laptop.delete(sent[1]["id"])
    edit = api.request(
        "PATCH",
        f"/api/notifications/{sent[2]['id']}",
        account=alice,
        json={"message": "note 2, corrected"},
    )
    assert edit.status_code == 200
    herald.start()

    phone.expect_connected(timeout=30_000)
    expect(phone.notification(sent[1]["id"])).to_have_count(0)
    expect(phone.notification(sent[0]["id"])).to_have_attribute("data-read", "true")
    expect(phone.notification(sent[2]["id"]).locator(".notification-message")).to_have_text(
        "note 2, corrected"
    )
    expect(phone.badge).to_have_text("1")
    assert phone.page.evaluate("window.__notReloaded") is True
