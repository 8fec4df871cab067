"""The conversations pane in Chromium: two users on two instances (sharing a broker)
message each other live, with typing, read ticks and older messages on scroll (issue 16)."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.support.clients import Api, wait_until


@pytest.fixture
def two_instances(own_server):
    broker_url = f"memory://{uuid.uuid4().hex}"
    return own_server(BROKER_URL=broker_url), own_server(BROKER_URL=broker_url)


def test_two_users_on_two_instances_message_each_other_live(two_instances, open_page, screenshot):
    first, second = two_instances
    api = Api(first.url)
    alice, bob = api.register("alice"), api.register("bob")
    alice_page = open_page(first.url).sign_in(alice)
    bob_page = open_page(second.url).sign_in(bob)

    alice_page.open_conversation(bob.username)
    alice_page.send_message("Lunch at noon?")
    expect(alice_page.messages).to_have_count(1)
    expect(alice_page.messages.first).to_contain_text("✓ Sent")
    # Bob has not opened it: it shows in his list, unread.
    listed = bob_page.conversation_with(alice.id)
    expect(listed).to_contain_text("Lunch at noon?")
    expect(listed).to_have_attribute("data-unread", "1")

    listed.get_by_role("button").click()
    expect(bob_page.messages).to_have_count(1)
    expect(bob_page.messages.first).to_contain_text("Lunch at noon?")
    expect(alice_page.messages.first).to_contain_text("✓✓ Read")  # bob's receipt, live
    expect(listed).to_have_attribute("data-unread", "0")

    bob_page.page.locator("#composer").press_sequentially("Su")
    expect(alice_page.typing).to_have_text(f"{bob.username} is typing…")
    bob_page.send_message("Sure, see you there")
    expect(alice_page.messages).to_have_count(2)
    expect(alice_page.messages.last).to_contain_text("Sure, see you there")
    expect(alice_page.typing).to_have_text("")
    expect(bob_page.messages.last).to_contain_text("✓✓ Read")  # alice has it open
    screenshot(alice_page.page, "conversation")


def test_older_messages_load_as_the_history_scrolls_up(server, api, open_page):
    alice, bob = api.register("alice"), api.register("bob")
    sent = [
        api.post(
            f"/api/conversations/{bob.id}/messages", account=alice, json={"text": f"message {n}"}
        ).json()
        for n in range(45)
    ]
    bob_page = open_page(server.url).sign_in(bob)
    bob_page.conversation_with(alice.id).get_by_role("button").click()
    expect(bob_page.messages).to_have_count(30)
    expect(bob_page.message(sent[-1]["id"])).to_be_visible()

    bob_page.page.locator("#message-history").evaluate("history => history.scrollTo(0, 0)")
    expect(bob_page.messages).to_have_count(45)
    expect(bob_page.messages.first).to_contain_text("message 0")

    def all_read():
        history = api.get(
            f"/api/conversations/{alice.id}/messages", account=bob, params={"limit": 45}
        ).json()["items"]
        return all(m["readAt"] is not None for m in history)

    # The page marks them read in the background, and the database takes a moment.
    assert wait_until(all_read, 10), "opening it read everything up to the newest"
