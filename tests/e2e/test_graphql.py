"""In Chromium: GraphiQL at /graphql from Herald's own files, and a browser `EventSource`
on /api/stream that resumes with Last-Event-ID after the stream drops."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import DESKTOP
from tests.support.clients import wait_until
from tests.support.servers import LiveServer
from tests.support.services import run_script


@pytest.fixture(scope="module")
def server(make_config):
    """A Herald of this module's own: a stream the client closed stays in the hub until
    its next keep-alive finds it gone, and the session server's socket counts must not
    see it."""
    live = LiveServer(make_config())
    yield live
    live.stop()


@pytest.fixture(scope="module")
def graphiql_files():
    run_script("graphiql.sh", "install", timeout=300)


@pytest.fixture
def local_page(browser):
    """A page whose requests may go to 127.0.0.1 only; its errors and outside requests."""
    context = browser.new_context(viewport=DESKTOP)
    outside, errors = [], []

    def only_this_host(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_host)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert outside == [], f"requests left 127.0.0.1: {outside}"
    assert errors == []


def test_graphiql_runs_a_query_with_the_token_given(graphiql_files, server, alice, local_page):
    local_page.goto(server.url + "/graphql")
    local_page.fill("#token", alice.access_token)
    local_page.locator(".graphiql-execute-button").click()
    expect(local_page.locator(".result-window")).to_contain_text(alice.username)


@pytest.fixture
def plain_page(browser):
    """A page without request routing: Playwright buffers routed responses, and an event
    stream never ends."""
    context = browser.new_context(viewport=DESKTOP)
    errors = []
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def test_event_source_receives_and_resumes_with_last_event_id(server, api, alice, bob, plain_page):
    local_page = plain_page
    token = api.post("/api/stream/token", account=alice).json()["token"]
    local_page.goto(server.url + "/healthz")
    local_page.evaluate(
        """token => {
            window.got = [];
            const source = new EventSource("/api/stream?token=" + encodeURIComponent(token));
            source.addEventListener("notification", (event) => window.got.push(
                {id: event.lastEventId, message: JSON.parse(event.data).data.message}));
            window.source = source;
        }""",
        token,
    )
    assert wait_until(lambda: server.node.hub.sessions_of(alice.id))
    first = api.notify(bob, alice, "one")
    local_page.wait_for_function("window.got.length === 1")
    for session in server.node.hub.sessions_of(alice.id):
        session.close(1013, "dropped by the test")  # the browser reconnects by itself
    assert wait_until(lambda: not server.node.hub.sessions_of(alice.id))
    second = api.notify(bob, alice, "two")  # while it is away: resumed from Last-Event-ID
    local_page.wait_for_function("window.got.length === 2", timeout=15_000)
    assert wait_until(lambda: server.node.hub.sessions_of(alice.id))
    third = api.notify(bob, alice, "three")
    local_page.wait_for_function("window.got.length === 3")
    got = local_page.evaluate("window.got")
    assert got == [
        {"id": first["id"], "message": "one"},
        {"id": second["id"], "message": "two"},
        {"id": third["id"], "message": "three"},
    ]
    local_page.evaluate("window.source.close()")
