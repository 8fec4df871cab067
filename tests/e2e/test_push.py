"""Web Push in headless Chromium: "Notify me on this device", and the service worker
showing what Herald pushed.

Headless Chromium cannot subscribe at a real push service (`pushManager.subscribe`
fails with "Registration failed - permission denied"), so the page's `subscribe` is
replaced by one returning a subscription the tests' push service made (real keys);
everything else is real: the page registers /sw.js, posts the subscription, Herald
encrypts and signs the push, the push service checks and decrypts it, and the
decrypted payload is delivered to the worker through the DevTools protocol
(`ServiceWorker.deliverPushMessage`), which shows it as a notification.
"""

import json
import time

import pytest
from playwright.sync_api import expect

from app.channels.push import service, vapid
from tests.support.clients import Api
from tests.support.push_service import PushService
from tests.support.servers import LiveServer

# Stands in for the browser's push service leg only: `subscribe` answers with the
# subscription JSON the test hands over, `getSubscription` with what was subscribed.
FAKE_SUBSCRIBE = """
window.__pushSubscriptionJSON = null;
PushManager.prototype.subscribe = async function (options) {
  if (!options.userVisibleOnly || options.applicationServerKey.length !== 65) {
    throw new DOMException("bad options", "NotAllowedError");
  }
  window.__subscribedWithKey = btoa(String.fromCharCode(...options.applicationServerKey))
    .replace(/[+]/g, "-").replace(/[/]/g, "_").replace(/=+$/, "");
  const json = window.__pushSubscriptionJSON;
  window.__subscribed = { endpoint: json.endpoint, toJSON: () => json,
                          unsubscribe: async () => { window.__subscribed = null; return true; } };
  return window.__subscribed;
};
PushManager.prototype.getSubscription = async function () { return window.__subscribed ?? null; };
"""


@pytest.fixture(scope="module")
def push_herald(make_config):
    """A Herald that pushes to http://127.0.0.1 and also to users with a socket (the page's)."""
    live = LiveServer(
        make_config(
            VAPID_PRIVATE_KEY=vapid.generate(),
            PUSH_ALLOW_LOOPBACK_HTTP=True,
            PUSH_ONLY_WHEN_OFFLINE=False,
        )
    )
    yield live
    live.stop()


@pytest.fixture
def push_service():
    with PushService() as push_service:
        yield push_service


def wait_for(probe, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.1)
    return value


def shown_notifications(page):
    return page.evaluate(
        """async () => (await (await navigator.serviceWorker.ready).getNotifications())
             .map((n) => ({ title: n.title, body: n.body, tag: n.tag }))"""
    )


def test_notify_me_on_this_device_and_the_worker_shows_the_push(
    push_herald, push_service, open_page
):
    api = Api(push_herald.url)
    alice, bob = api.register("alice"), api.register("bob")
    server_key = api.get("/api/push/vapid-public-key").json()["publicKey"]
    subscription = push_service.subscribe(server_key)
    page = open_page(push_herald.url)
    tab = page.page
    tab.context.grant_permissions(["notifications"], origin=push_herald.url)
    tab.context.add_init_script(FAKE_SUBSCRIBE)
    cdp = tab.context.new_cdp_session(tab)
    registrations = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    page.sign_in(bob)
    tab.evaluate("json => { window.__pushSubscriptionJSON = json; }", subscription)

    tab.get_by_role("button", name="Notify me on this device").click()
    expect(tab.locator("#push-status")).to_have_text(
        "This device will be notified while Herald is closed."
    )
    assert tab.evaluate("window.__subscribedWithKey") == server_key
    stored = api.get("/api/push-subscriptions", account=bob).json()["items"]
    assert [s["endpoint"] for s in stored] == [subscription["endpoint"]]

    created = api.notify(alice, bob, message="Your parcel is here", type="delivery")
    notification = api.get(f"/api/notifications/{created['id']}", account=bob).json()
    with push_herald.app.app_context():
        assert service.send_notification(notification, bob.id).sent == 1
    [push] = push_service.received(subscription["endpoint"])
    assert push.payload["data"] == notification

    registration = wait_for(
        lambda: [r for r in registrations if not r.get("isDeleted")], "worker registration"
    )
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": push_herald.url,
            "registrationId": registration[-1]["registrationId"],
            "data": json.dumps(push.payload),
        },
    )
    shown = wait_for(lambda: shown_notifications(tab), "notification shown")
    assert shown == [
        {"title": "Herald · delivery", "body": "Your parcel is here", "tag": notification["id"]}
    ]

    tab.get_by_role("button", name="Stop notifying this device").click()
    expect(tab.locator("#push-status")).to_have_text("This device will not be notified.")
    assert api.get("/api/push-subscriptions", account=bob).json() == {"items": []}

    # On again, then signing out: the next person on this browser gets none of bob's.
    tab.get_by_role("button", name="Notify me on this device").click()
    expect(tab.get_by_role("button", name="Stop notifying this device")).to_be_visible()
    assert len(api.get("/api/push-subscriptions", account=bob).json()["items"]) == 1
    tab.locator("#logout").click()
    expect(tab.locator("#login-form")).to_be_visible()
    assert wait_for(
        lambda: api.get("/api/push-subscriptions", account=bob).json() == {"items": []},
        "subscription deleted on sign-out",
    )


def test_the_service_worker_is_served_at_the_root(push_herald):
    response = Api(push_herald.url).get("/sw.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert "showNotification" in response.text


def test_a_browser_that_blocks_notifications_is_told_so(push_herald, open_page):
    bob = Api(push_herald.url).register("bob")
    page = open_page(push_herald.url).sign_in(bob)  # no permission granted: the prompt says no
    page.page.get_by_role("button", name="Notify me on this device").click()
    expect(page.page.locator("#push-status")).to_have_text(
        "Notifications are blocked for Herald in this browser's settings."
    )
    assert Api(push_herald.url).get("/api/push-subscriptions", account=bob).json() == {"items": []}
