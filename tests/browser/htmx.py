"""Waiting for htmx in browser tests."""

from playwright.sync_api import Page


def settle(page: Page) -> None:
    """Wait until htmx has no request in flight and has set up what it swapped in: a row or an
    input swapped in gets its htmx handlers only when it settles, and a control changed before
    that sends nothing (faster than any person, not than Playwright)."""
    page.wait_for_function(
        "document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
        " === null"
    )
