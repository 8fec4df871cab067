"""Swagger UI at /api-docs/ renders from Herald's own files, with no request leaving the host."""

from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.e2e.pages import DESKTOP


def test_swagger_ui_renders_without_any_outside_request(server, browser, screenshot):
    context = browser.new_context(viewport=DESKTOP)
    outside, errors = [], []

    def only_this_host(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_host)
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url + "/api-docs/")
        operation = page.locator('.opblock-summary-path[data-path="/api/notifications"]')
        expect(operation.first).to_be_visible()
        expect(page.locator(".opblock").first).to_be_visible()
        page.wait_for_load_state("networkidle")
        screenshot(page, "swagger")
    finally:
        context.close()
    assert outside == [], f"requests left 127.0.0.1: {outside}"
    assert errors == []
