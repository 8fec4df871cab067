"""The browser client at `/`, in headless Chromium against the session's Herald."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.support.clients import Api
from tests.support.servers import LiveServer

STRICT_POLICY = "default-src 'self'"
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


def test_a_notification_sent_from_one_page_appears_live_on_the_other(
    server, api, open_page, screenshot
):
    alice, bob = api.register("alice"), api.register("bob")
    bob_page = open_page(server.url).sign_in(bob)
    alice_page = open_page(server.url).sign_in(alice)
    expect(bob_page.badge).to_have_text("0")

    created = alice_page.send(bob.username, "Build 42 passed")
    # Timed from the POST's answer: the socket, not a reload, brings it.
    message = bob_page.notification(created["id"]).locator(".notification-message")
    expect(message).to_have_text("Build 42 passed", timeout=1000)
    expect(bob_page.badge).to_have_text("1", timeout=1000)
    alice_page.expect_sent_to(bob.username)

    bob_page.mark_read(created["id"])
    expect(bob_page.badge).to_have_text("0")
    expect(bob_page.notification(created["id"])).to_have_attribute("data-read", "true")
    stored = api.get(f"/api/notifications/{created['id']}", account=bob)
    assert stored.status_code == 200 and stored.json()["read"] is True

    for text, kind in [("Deploy to staging finished", "deploy"), ("Alice mentioned you", None)]:
        extra = {"type": kind} if kind else {}
        shown = api.notify(alice, bob, text, **extra)
        expect(bob_page.notification(shown["id"])).to_be_visible()
    expect(bob_page.badge).to_have_text("2")
    screenshot(bob_page.page, "inbox", docs=True)


def test_mark_all_read(server, api, open_page):
    alice, bob = api.register("alice"), api.register("bob")
    for number in range(3):
        api.notify(alice, bob, f"note {number}")
    bob_page = open_page(server.url).sign_in(bob)
    expect(bob_page.items).to_have_count(3)
    expect(bob_page.badge).to_have_text("3")

    bob_page.page.get_by_role("button", name="Mark all read").click()
    expect(bob_page.badge).to_have_text("0")
    expect(bob_page.page.locator("#notification-list > li.unread")).to_have_count(0)
    assert api.get("/api/notifications/unread-count", account=bob).json() == {"count": 0}


def test_presence_follows_the_other_users_page(server, api, open_page):
    alice, bob = api.register("alice"), api.register("bob")
    bob_page = open_page(server.url).sign_in(bob)
    expect(bob_page.presence_of(bob.id)).to_have_text("online")
    expect(bob_page.presence_of(alice.id)).to_have_count(0)

    alice_page = open_page(server.url).sign_in(alice)
    expect(bob_page.presence_of(alice.id)).to_have_text("online")

    alice_page.page.context.close()
    expect(bob_page.presence_of(alice.id)).to_have_text("offline")
    expect(bob_page.presence_of(bob.id)).to_have_text("online")


def test_html_in_a_message_is_shown_as_text_and_runs_nothing(server, api, open_page):
    alice, bob = api.register("alice"), api.register("bob")
    bob_page = open_page(server.url).sign_in(bob)
    alice_page = open_page(server.url).sign_in(alice)
    fetched = []
    bob_page.page.on("request", lambda request: fetched.append(request.url))

    hostile = alice_page.send(bob.username, HOSTILE)
    message = bob_page.notification(hostile["id"]).locator(".notification-message")
    expect(message).to_have_text(HOSTILE)
    # A later notification is a barrier: any handler the first one set up has had its turn.
    later = api.notify(alice, bob, "after the hostile one")
    expect(bob_page.notification(later["id"])).to_be_visible()

    for page in (bob_page.page, alice_page.page):
        assert page.evaluate("() => window.__pwned") is None
    assert bob_page.page.locator("#notification-list img, #notification-list script").count() == 0
    assert not [url for url in fetched if url.endswith("/x")], "the <img> was loaded"


def test_sign_in_with_the_keyboard_only(server, api, open_page):
    bob = api.register("bob")
    herald = open_page(server.url).open()
    page, keyboard = herald.page, herald.page.keyboard

    keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    keyboard.press("Tab")
    username = page.locator("#login-username")
    expect(username).to_be_focused()
    assert username.evaluate("node => getComputedStyle(node).outlineStyle") == "solid"
    keyboard.type(bob.username)
    keyboard.press("Tab")
    expect(page.locator("#login-password")).to_be_focused()
    keyboard.type(bob.password)
    keyboard.press("Enter")

    herald.expect_connected()
    expect(page.locator("#me-name")).to_have_text(bob.username)
    expect(page.locator("#inbox-title")).to_be_focused()


def test_mobile_width_has_no_horizontal_scroll(server, api, open_page, screenshot):
    alice, bob = api.register("alice"), api.register("bob")
    api.notify(alice, bob, "Your weekly report is ready to download")
    api.notify(alice, bob, "An unbroken word must wrap: " + "W" * 150)
    herald = open_page(server.url, viewport={"width": 375, "height": 740}).open()
    assert not herald.has_horizontal_scroll()
    screenshot(herald.page, "mobile-sign-in")

    herald.sign_in(bob)
    expect(herald.items).to_have_count(2)
    assert not herald.has_horizontal_scroll()
    screenshot(herald.page, "mobile")


def test_failed_login_says_so(server, api, open_page):
    bob = api.register("bob")
    herald = open_page(server.url).open()
    herald.submit_login(bob.username, "not-the-password")
    expect(herald.login_error).to_have_text("Wrong username or password")
    expect(herald.page.locator("#app-view")).to_be_hidden()

    herald.submit_login("nobody-" + uuid.uuid4().hex[:8], "whatever-password")
    expect(herald.login_error).to_have_text("Wrong username or password")


def test_register_through_the_page(server, open_page):
    name = f"carol_{uuid.uuid4().hex[:8]}"
    herald = open_page(server.url).open()
    form = herald.page.locator("#register-form")
    form.get_by_label("Username").fill(name)
    form.get_by_label("Email").fill(f"{name}@example.test")
    form.get_by_label("Password").fill("correct-horse-1")
    form.get_by_role("button", name="Create account").click()

    herald.expect_connected()
    expect(herald.page.locator("#me-name")).to_have_text(name)
    found = Api(server.url).post(
        "/api/login", json={"username": name, "password": "correct-horse-1"}
    )
    assert found.status_code == 200


def test_the_page_is_served_without_caching(server, api):
    response = api.get("/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert re.search(r'<script type="module" src="/static/js/main\.js"></script>', response.text)


@pytest.fixture(scope="module")
def strict_server(make_config):
    """A Herald whose every response carries the strict policy production will add."""

    def add_policy(app):
        @app.after_request
        def content_security_policy(response):
            response.headers["Content-Security-Policy"] = STRICT_POLICY
            return response

    live = LiveServer(make_config(), setup=add_policy)
    yield live
    live.stop()


def test_the_page_works_under_a_strict_content_security_policy(strict_server, open_page):
    api = Api(strict_server.url)
    alice, bob = api.register("alice"), api.register("bob")
    herald = open_page(strict_server.url)
    refused = []
    herald.page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and refused.append(message.text),
    )
    herald.sign_in(bob)
    created = api.notify(alice, bob, "delivered under the policy")
    expect(herald.notification(created["id"])).to_be_visible()
    herald.page.get_by_role("button", name="Mark all read").click()
    expect(herald.badge).to_have_text("0")
    assert herald.page.evaluate("() => document.styleSheets.length") == 1
    assert refused == []


def test_reconnect_delays_grow_with_jitter_up_to_a_cap(server, open_page):
    page = open_page(server.url).open().page
    delays = page.evaluate(
        """async () => {
            const { reconnectDelay, RECONNECT } = await import("/static/js/backoff.js");
            const attempts = [0, 1, 2, 3, 4, 10, 60];
            const at = (share) => attempts.map((n) => reconnectDelay(n, RECONNECT, () => share));
            return { low: at(0), high: at(1), settings: RECONNECT };
        }"""
    )
    assert delays["settings"] == {"baseMs": 500, "capMs": 5000}
    assert delays["low"] == [250, 500, 1000, 2000, 2500, 2500, 2500]
    assert delays["high"] == [500, 1000, 2000, 4000, 5000, 5000, 5000]


def test_the_badge_follows_the_server_count_beyond_one_page(server, api, open_page):
    alice, bob = api.register("alice"), api.register("bob")
    for number in range(55):  # more than the page loads (50)
        api.notify(alice, bob, f"backlog {number}")
    herald = open_page(server.url).sign_in(bob)
    expect(herald.items).to_have_count(50)
    expect(herald.badge).to_have_text("55")

    live = api.notify(alice, bob, "one more")
    expect(herald.notification(live["id"])).to_be_visible()
    expect(herald.badge).to_have_text("56")
    herald.mark_read(live["id"])
    expect(herald.badge).to_have_text("55")
    herald.page.get_by_role("button", name="Mark all read").click()
    expect(herald.badge).to_have_text("0")
    assert api.get("/api/notifications/unread-count", account=bob).json() == {"count": 0}


@pytest.fixture(scope="module")
def short_token_server(make_config):
    """A Herald whose access tokens live 3 s, so sockets must be re-authenticated."""
    live = LiveServer(make_config(JWT_ACCESS_TOKEN_EXPIRES=3))
    yield live
    live.stop()


def test_the_socket_outlives_its_token_by_reauthenticating(short_token_server, open_page):
    api = Api(short_token_server.url)
    bob = api.register("bob")
    herald = open_page(short_token_server.url)
    sockets = []
    herald.page.on("websocket", lambda socket: sockets.append(socket))
    herald.sign_in(bob)

    (socket,) = sockets
    for _ in range(2):  # each fresh token is sent before the previous one expires
        socket.wait_for_event(
            "framereceived", predicate=lambda payload: '"auth.ok"' in payload, timeout=10_000
        )
    herald.expect_connected()
    assert len(sockets) == 1, "the page had to reconnect"
    assert not socket.is_closed()
