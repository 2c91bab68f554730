"""Browser tests: Playwright driving the system Chromium against pytest-django's live server."""

from __future__ import annotations

import os
import re

import pytest

from tests.conftest import CHROMIUM

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make (and the
# live server's) are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 375, "height": 812}


@pytest.fixture(scope="session")
def browser(django_db_setup):
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs on greenlets, each with its own context variables, and Django
    # keeps database connections per context: once it has started, the ORM gets a fresh
    # connection object without the serialised test data that `serialized_rollback` restores
    # Wagtail's initial tree from. Hand that data on to the connections made from now on.
    serialized = {
        alias: getattr(connections[alias], "_test_serialized_contents", None)
        for alias in connections
    }
    with sync_playwright() as playwright:
        for alias, contents in serialized.items():
            if contents is not None:
                connections[alias]._test_serialized_contents = contents
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True
        )
        yield browser
        browser.close()


def watch_errors(page, errors: list[str]) -> None:
    """Collect uncaught script errors and console errors of `page` into `errors`.

    A page that answers 4xx on purpose (a form with errors, a slot taken meanwhile: 400, 409) makes
    Chromium log "Failed to load resource" for the document itself; that is the page working, so
    it is not collected. A 4xx of a script, style or image still is, as is every 5xx.
    """

    def on_console(msg):
        if msg.type != "error":
            return
        document = msg.location.get("url") == page.url
        if document and re.match(r"Failed to load resource: .* status of 4\d\d", msg.text):
            return
        errors.append(msg.text)

    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", on_console)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    watch_errors(page, errors)
    yield page
    context.close()
    # A page that throws, or that the CSP blocks, is a failure even if the flow went through.
    assert not errors, errors


class Browsers:
    """New browser contexts (own cookies: another person) on the live server. Console errors and
    uncaught page errors of any of their pages fail the test, as with the `page` fixture."""

    def __init__(self, browser, base_url):
        self.browser, self.base_url = browser, base_url
        self.contexts = []
        self.errors: list[str] = []

    def open(self, viewport=DESKTOP, **options):
        context = self.browser.new_context(viewport=viewport, base_url=self.base_url, **options)
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.new_page()
        watch_errors(page, self.errors)
        return page

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def browsers(browser, live_server):
    opened = Browsers(browser, live_server.url)
    yield opened
    opened.close()
    assert not opened.errors, opened.errors
