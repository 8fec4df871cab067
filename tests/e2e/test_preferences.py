"""The preferences panel in headless Chromium: channels and types on or off, kept by the server."""

from playwright.sync_api import expect


def test_turning_channels_and_types_off_in_the_settings_panel(server, api, open_page):
    alice = api.register("alice")
    page = open_page(server.url).sign_in(alice)
    panel = page.page.locator("section.preferences")
    email = panel.locator("fieldset", has_text="Email")
    push = panel.locator("fieldset", has_text="Push")
    expect(email.get_by_label("Email: on")).to_be_checked()
    expect(email.get_by_label("“message” notifications")).to_be_checked()

    email.get_by_label("“post” notifications").uncheck()
    push.get_by_label("Push to this device's browser: on").uncheck()
    panel.get_by_role("button", name="Save preferences").click()
    expect(panel.locator("#preferences-status")).to_have_text("Preferences saved.")
    stored = api.get("/api/users/me/preferences", account=alice).json()
    assert stored["channels"] == {"email": True, "push": False}
    assert stored["types"]["email"]["post"] is False
    assert stored["types"]["email"]["message"] is True

    page.page.reload()  # what the panel shows comes from the server
    page.expect_connected()
    expect(email.get_by_label("“post” notifications")).not_to_be_checked()
    expect(push.get_by_label("Push to this device's browser: on")).not_to_be_checked()
    expect(email.get_by_label("“message” notifications")).to_be_checked()
