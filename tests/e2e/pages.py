"""The Herald page as the tests see it: what a user does and what a user reads."""

import re

from playwright.sync_api import expect

DESKTOP = {"width": 1100, "height": 720}


class HeraldPage:
    """One browser tab on Herald's client at `/`."""

    def __init__(self, page, base_url):
        self.page, self.base_url = page, base_url
        self.errors = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self):
        self.page.goto(self.base_url + "/")
        expect(self.page.locator("#login-form")).to_be_visible()
        return self

    def sign_in(self, account):
        """Sign in through the form and wait until the socket is live."""
        self.open()
        self.submit_login(account.username, account.password)
        self.expect_connected()
        expect(self.page.locator("#me-name")).to_have_text(account.username)
        return self

    def submit_login(self, username, password):
        form = self.page.locator("#login-form")
        form.get_by_label("Username or email").fill(username)
        form.get_by_label("Password").fill(password)
        form.get_by_role("button", name="Sign in").click()

    def expect_connected(self, timeout=10_000):
        expect(self.connection).to_have_text("Connected", timeout=timeout)

    @property
    def connection(self):
        return self.page.locator("#connection-text")

    @property
    def badge(self):
        return self.page.locator("#unread-badge")

    @property
    def login_error(self):
        return self.page.locator("#login-error")

    @property
    def items(self):
        return self.page.locator("#notification-list > li")

    def notification(self, notification_id):
        return self.page.locator(f'#notification-list > li[data-id="{notification_id}"]')

    def presence_of(self, user_id):
        return self.page.locator(f'#presence-list > li[data-user-id="{user_id}"] .presence-state')

    def send(self, username, message):
        """Notify `username` through the page's form.

        Returns the created notification as soon as the POST has answered, so a
        caller can time what follows from that moment.
        """
        form = self.page.locator("#notify-form")
        form.get_by_label("Username").fill(username)
        form.get_by_label("Message").fill(message)
        with self.page.expect_response(_created_notification) as created:
            form.get_by_role("button", name="Send").click()
        response = created.value
        assert response.status == 201, response.text()
        return response.json()

    def expect_sent_to(self, username):
        expect(self.page.locator("#notify-status")).to_have_text(f"Sent to {username}.")

    def mark_read(self, notification_id):
        self.notification(notification_id).get_by_role(
            "button", name=re.compile("Mark read")
        ).click()

    def delete(self, notification_id):
        self.notification(notification_id).get_by_role("button", name=re.compile("^Delete")).click()

    def mark_all_read(self):
        self.page.get_by_role("button", name="Mark all read").click()

    def edit_last_sent(self, message):
        form = self.page.locator("#edit-form")
        form.get_by_label("Edit it").fill(message)
        form.get_by_role("button", name="Save edit").click()
        expect(self.page.locator("#last-sent-status")).to_have_text("Edited.")

    def retract_last_sent(self):
        self.page.get_by_role("button", name="Retract").click()
        expect(self.page.locator("#last-sent")).to_be_hidden()

    def open_conversation(self, username):
        form = self.page.locator("#new-conversation-form")
        form.get_by_label("Message a user").fill(username)
        form.get_by_role("button", name="Open").click()
        expect(self.page.locator("#conversation-title")).to_have_text(username)

    def conversation_with(self, user_id):
        return self.page.locator(f'#conversation-list > li[data-user-id="{user_id}"]')

    def send_message(self, text):
        composer = self.page.locator("#composer-form")
        composer.get_by_label("Your message").fill(text)
        composer.get_by_role("button", name="Send message").click()

    @property
    def messages(self):
        return self.page.locator("#message-history > li")

    def message(self, message_id):
        return self.page.locator(f'#message-history > li[data-id="{message_id}"]')

    @property
    def typing(self):
        return self.page.locator("#typing-indicator")

    def has_horizontal_scroll(self):
        return self.page.evaluate(
            "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )


def _created_notification(response):
    request = response.request
    return request.method == "POST" and response.url.endswith("/api/notifications")
