"""Browser tests with Playwright driving Debian's Chromium (never a downloaded browser)."""

import os
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("MANIFATTURA_SCREENSHOT_DIR", "/tmp"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]

# For a module's ``pytestmark``.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium"),
]


def chromium_page(monkeypatch, *, locale: str):
    """Yield a page of a fresh headless Chromium (``page.errors`` collects its JavaScript errors)."""
    playwright = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API keeps an event loop in this thread; Django's async-safety check must not trip.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale=locale)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors
        try:
            yield page
        finally:
            # The database connections the test opened while Playwright ran are not the ones Django sees
            # once it has stopped (Django keeps them per context, and Playwright's sync API brings its
            # own): close them here, or PostgreSQL keeps the session and the test database cannot be
            # dropped at the end ("is being accessed by other users").
            connections.close_all()
            browser.close()
