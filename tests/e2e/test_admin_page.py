"""The operator's page at /admin, in headless Chromium: live figures and dead-letter replay."""

import re

from playwright.sync_api import expect

from tests.support.clients import ADMIN_PASSWORD, Api


def figure(page, key):
    return page.locator(f'[data-figure="{key}"] dd')


def test_an_admin_watches_the_figures_move_and_replays_a_dead_letter(
    own_server, open_page, screenshot, monkeypatch
):
    live = own_server(ADMIN_STATS_INTERVAL=0.5, RETRY_MAX_ATTEMPTS=1)
    api = Api(live.url)
    admin = api.login(None, "admin", "admin@example.test", ADMIN_PASSWORD)
    sender, bob = api.register("sender"), api.register("bob")
    tab = open_page(live.url).sign_in(admin)
    tab.page.goto(live.url + "/admin")
    expect(tab.page.locator("#connection-text")).to_have_text("Live")
    expect(figure(tab.page, "sockets")).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(figure(tab.page, "deadLetters")).to_have_text(re.compile(r"^\d+$"))
    before = int(figure(tab.page, "deadLetters").text_content())

    # A delivery that fails every attempt becomes a dead letter; the page shows it.
    def broken(event):
        raise RuntimeError("socket layer exploded (admin page test)")

    monkeypatch.setattr(live.node.consumer, "handler", broken)
    api.notify(sender, bob, "will be dead-lettered")
    expect(figure(tab.page, "deadLetters")).to_have_text(str(before + 1))
    row = tab.page.locator(".dead-letter", has_text="admin page test")
    expect(row).to_be_visible()
    screenshot(tab.page, "admin-page")

    monkeypatch.undo()  # deliveries work again, so the replay goes through
    row.get_by_role("button", name="Replay").click()
    expect(tab.page.locator("#dead-letters-message")).to_have_text("Replayed.")
    expect(figure(tab.page, "deadLetters")).to_have_text(str(before))
    instance = live.node.instance_id
    expect(tab.page.locator("#lag")).to_contain_text(instance)


def test_a_user_who_is_no_admin_is_told_so(server, api, open_page):
    alice = api.register("alice")
    tab = open_page(server.url).sign_in(alice)
    tab.page.goto(server.url + "/admin")
    expect(tab.page.locator("#operator-message")).to_contain_text("for admins only")
    expect(tab.page.locator('[data-figure="sockets"]')).to_have_count(0)


def test_without_a_session_the_page_points_to_the_sign_in(server, open_page):
    tab = open_page(server.url)
    tab.page.goto(server.url + "/admin")
    expect(tab.page.locator("#operator-message")).to_contain_text("Sign in as an admin first")
    expect(tab.page.locator("#operator-message a")).to_have_attribute("href", "/")
