"""Posts, follows and topics in Chromium (issue 15): follow someone from the user list,
see their new post appear live in the feed, join and leave a topic."""

import uuid

from playwright.sync_api import expect


def test_a_follower_sees_a_new_post_live_and_topics_are_joined(server, api, open_page):
    alice, bob = api.register("alice"), api.register("bob")
    bob_page = open_page(server.url).sign_in(bob)
    alice_page = open_page(server.url).sign_in(alice)

    entry = bob_page.page.locator(f'#presence-list > li[data-user-id="{alice.id}"]')
    follow = entry.get_by_role("button", name="Follow")
    follow.click()
    expect(entry.get_by_role("button", name="Unfollow")).to_be_visible()
    assert api.get(f"/api/users/{alice.id}/profile", account=bob).json()["followedByMe"]

    alice_page.page.get_by_label("Share something with your followers").fill("Herald 2 is out")
    alice_page.page.get_by_role("button", name="Post", exact=True).click()
    expect(alice_page.page.locator("#post-status")).to_have_text("Posted.")
    feed = bob_page.page.locator("#feed > li")
    expect(feed.first).to_contain_text("Herald 2 is out")  # live, no reload
    expect(feed.first).to_contain_text(alice.username)
    expect(bob_page.badge).to_have_text("1")  # and a notification of type post

    key = f"releases-{uuid.uuid4().hex[:6]}"
    alice_page.page.get_by_label("New topic key").fill(key)
    alice_page.page.get_by_label("Its name").fill("Releases")
    alice_page.page.get_by_role("button", name="Create topic").click()
    expect(alice_page.page.locator("#topic-status")).to_have_text("Created.")
    bob_page.page.reload()
    bob_page.expect_connected()
    topic = bob_page.page.locator(f'#topic-list > li[data-key="{key}"]')
    topic.get_by_role("button", name="Join").click()
    expect(topic).to_have_attribute("data-subscribed", "true")
    expect(topic).to_contain_text("1 member")
    created = api.post(
        "/api/notifications", account=alice, json={"topic": key, "message": "v2.1 tagged"}
    )
    assert created.status_code == 202 and created.json()["written"] == 1
    expect(bob_page.page.locator("#notification-list > li").first).to_contain_text("v2.1 tagged")
    topic.get_by_role("button", name="Leave").click()
    expect(topic).to_have_attribute("data-subscribed", "false")
