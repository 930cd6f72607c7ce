"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Never run `playwright install`; the tests use the system Chromium at /usr/bin/chromium.
Locally a missing Chromium skips these tests (loudly); in CI (CI=true) it fails them.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.projects.factories import PASSWORD

# Playwright's sync API runs an asyncio event loop in the test thread, which makes Django
# refuse ORM calls (factories, fixtures) with SynchronousOnlyOperation.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEFAULT_TIMEOUT_MS = 10_000
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Every test in this folder is a browser test (`-m "not browser"` deselects them)."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not CHROMIUM.exists():
        message = f"BROWSER TESTS SKIPPED: {CHROMIUM} not found; apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"BROWSER TESTS CANNOT RUN IN CI: {CHROMIUM} not found; "
                "install Debian's chromium package in the CI image",
                pytrace=False,
            )
        pytest.skip(message)
    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser, live_server) -> BrowserContext:
    """A fresh browser context (own cookies and storage) per test, rooted at the live server."""
    ctx = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
    ctx.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def log_in(page: Page, live_server):
    """`log_in(user)` → logs in through the real login form and waits for the dashboard."""

    def do_log_in(user, password: str = PASSWORD) -> Page:
        page.goto("/accounts/login/")
        page.locator("#id_username").fill(user.email)
        page.locator("#id_password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/$"))
        return page

    return do_log_in
