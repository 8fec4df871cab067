"""Fixtures of the channel tests: Mailpit, and a Herald that emails through it."""

import pytest

from tests.channels.mailpit import Mailpit
from tests.support.clients import Api


@pytest.fixture(scope="session")
def mailpit(mailpit_build):
    mailpit_build.wait(timeout=900)
    server = Mailpit().start()
    yield server
    server.stop()


# Quick settings: due at once when offline, no digest unless a test asks, fast retries.
EMAIL_SETTINGS = {
    "CHANNELS_ENABLED": True,
    "EMAIL_DELAY": 60.0,
    "EMAIL_DIGEST_WINDOW": 0.0,
    "EMAIL_POLL_INTERVAL": 0.1,
    "EMAIL_RETRY_BASE_DELAY": 0.2,
    "EMAIL_MAX_ATTEMPTS": 3,
    "EMAIL_LEASE": 3.0,
    "SMTP_TIMEOUT": 5.0,
}


@pytest.fixture
def emailing(own_server, mailpit):
    """`emailing(**settings)`: a Herald with the email channel on, sending to Mailpit."""

    def start(**overrides):
        live = own_server(**{"SMTP_URL": mailpit.smtp_url, **EMAIL_SETTINGS, **overrides})
        live.api = Api(live.url)
        return live

    return start
