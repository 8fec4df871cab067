"""Browser fixtures: Debian's Chromium, driven by Playwright, against a live Herald.

Playwright's own browser download cannot work here, so the session installs
Chromium with `scripts/chromium.sh install` and launches /usr/bin/chromium.
Every page's uncaught script error fails its test. Screenshots go to
test-artifacts/screenshots/ (untracked); the one the README shows is also saved
as docs-screenshot.png there, which `make docs` copies to docs/screenshot.png.
"""

import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.pages import DESKTOP, HeraldPage
from tests.support.processes import RestartableHerald
from tests.support.services import ROOT, run_script

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium dials out (updates, sync, ...)
# and those refused connections pile up on a machine without internet.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DOCS_SCREENSHOT = SCREENSHOTS / "docs-screenshot.png"  # `make docs` takes it from here

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def chromium_path():
    run_script("chromium.sh", "install", timeout=900)
    return CHROMIUM


@pytest.fixture(scope="package")
def browser(chromium_path):
    """One Chromium for tests/e2e, shut down (with Playwright's event loop) when they end."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser):
    """Opens a Herald page in a fresh browser context (one user each); closes them all."""
    contexts, pages = [], []

    def open_(base_url, *, viewport=None):
        context = browser.new_context(viewport=viewport or DESKTOP, base_url=base_url)
        contexts.append(context)
        page = HeraldPage(context.new_page(), base_url)
        pages.append(page)
        return page

    yield open_
    for context in contexts:
        context.close()
    errors = [error for page in pages for error in page.errors]
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture(scope="session")
def screenshot():
    """Saves a page's screenshot under test-artifacts/screenshots/<name>.png.

    `docs=True` marks the one for the README: it is also saved as DOCS_SCREENSHOT.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name, *, docs=False):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled")
        if docs:
            shutil.copyfile(path, DOCS_SCREENSHOT)
        return path

    return take


@pytest.fixture
def restartable(server, mongodb_uri):
    herald = RestartableHerald(
        {
            "HERALD_ENV": "testing",
            "MONGODB_URI": mongodb_uri,
            "BROKER_URL": "memory://",
            # The session's server shares the database and the key: a sibling instance.
            "JWT_SECRET_KEY": server.app.config["JWT_SECRET_KEY"],
            "PRESENCE_TTL": "3",
            "OUTBOX_POLL_INTERVAL": "0.2",
            "ACCESS_LOG": "",
        }
    )
    yield herald
    herald.stop()
