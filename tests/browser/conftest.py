"""Real Chromium (Debian's) driven by Playwright against a live server on a real database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.db.backends.signals import connection_created
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

expect.set_options(timeout=10_000)

LOCKED_RETRIES = 200  # 10 s of 50 ms waits


def _wait_while_locked(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
) -> Any:
    """Run a statement, waiting while another thread reads its table. The tests' SQLite
    database lives in memory, shared by the test's thread and the live server's (each with a
    connection of its own), where a statement touching a table another connection is reading
    is refused at once ("database table is locked"), with no busy timeout (a file database, as
    propdesk runs, waits instead). The refused statement did nothing and its transaction goes
    on, so it is run again. Not an executemany: the rows before the refused one stay written."""
    if many:
        return execute(sql, params, many, context)
    for _ in range(LOCKED_RETRIES):
        try:
            return execute(sql, params, many, context)
        except OperationalError as refused:
            if "table is locked" not in str(refused):
                raise
            time.sleep(0.05)
    return execute(sql, params, many, context)


def _wrap(sender: Any, connection: Any, **kwargs: Any) -> None:
    if _wait_while_locked not in connection.execute_wrappers:
        connection.execute_wrappers.append(_wait_while_locked)


@pytest.fixture(autouse=True)
def _statements_wait_for_readers(request: pytest.FixtureRequest) -> Iterator[None]:
    """On SQLite, in a test with a live server, every statement (the test's, and those of the
    server's threads, each connecting as it serves a request) waits for another connection's
    read as a file database would."""
    if "live_server" not in request.fixturenames or connection.vendor != "sqlite":
        yield
        return
    request.getfixturevalue("live_server")
    connection_created.connect(_wrap)
    try:
        with connection.execute_wrapper(_wait_while_locked):
            yield
    finally:
        connection_created.disconnect(_wrap)


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def new_page(browser: Browser, live_server) -> Iterator[Callable[[], Page]]:
    """Each call is a separate person: their own browser context, cookies and all."""
    contexts = []

    def make() -> Page:
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
