"""The page's socket survives a server restart and resumes without loss or duplicates."""

import pytest
from playwright.sync_api import expect

from tests.support.clients import Api

pytestmark = pytest.mark.slow


def test_the_page_reconnects_after_a_restart_and_shows_what_it_missed_once(
    server, restartable, open_page, screenshot
):
    herald = restartable.start()
    api = Api(herald.url)
    alice, bob = api.register("alice"), api.register("bob")
    page = open_page(herald.url).sign_in(bob)
    first = api.notify(alice, bob, "before the restart")
    expect(page.notification(first["id"])).to_have_count(1)

    restartable.crash()
    expect(page.connection).to_have_text("Reconnecting…")
    expect(page.page.locator("#connection")).to_have_attribute("data-state", "reconnecting")
    screenshot(page.page, "reconnecting")
    # Accepted by a sibling instance on the same database while the page's server is down.
    while_down = Api(server.url).notify(alice, bob, "sent while the server was down")

    herald = restartable.start()
    api = Api(herald.url)
    right_after = api.notify(alice, bob, "sent right after the restart")
    page.expect_connected()
    for missed in (while_down, right_after):
        expect(page.notification(missed["id"])).to_have_count(1)

    # A live one after the resume: once it shows, a duplicate would have shown too.
    live = api.notify(alice, bob, "live again")
    expect(page.notification(live["id"])).to_have_count(1)
    expect(page.items).to_have_count(4)
    for notification in (first, while_down, right_after):
        expect(page.notification(notification["id"])).to_have_count(1)
    expect(page.badge).to_have_text("4")
    assert api.get("/api/notifications/unread-count", account=bob).json() == {"count": 4}
