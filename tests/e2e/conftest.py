"""The browser tests' shared fixtures: one real `fjernlaan serve` on the seeded demo data, Debian's
Chromium driven by Playwright, and a fresh page (its own cookies) per test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from browser_helpers import DESKTOP
from hub_server import free_port, hub_env, run_cli, served

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these, Chromium keeps reaching for Google's hosts, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip (fail under CI=true) when Debian's chromium is missing."""
    if Path(CHROMIUM).exists():
        return
    reason = "Debian's chromium is not installed (scripts/install-system-deps installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but " + reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def hub_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The SQLite database `hub_url` serves: tests may add what the demo lacks (catalogue records)
    through the services while the hub runs."""
    return f"sqlite:///{tmp_path_factory.mktemp('browser-hub') / 'hub.db'}"


@pytest.fixture(scope="session")
def hub_url(tmp_path_factory: pytest.TempPathFactory, hub_database_url: str) -> Iterator[str]:
    """A real `fjernlaan serve` on a fresh SQLite database seeded with `fjernlaan demo`."""
    require_chromium()
    folder = tmp_path_factory.mktemp("browser-hub-log")
    env = hub_env(hub_database_url, port=free_port())
    run_cli(env, "demo", "--records", "0")
    with served(env, folder / "serve.log") as base:
        yield base


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, through Playwright."""
    require_chromium()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A new page in its own browser context (no cookies shared between tests), desktop-sized, with a
    Danish browser (Accept-Language: da-DK);
    `page.set_viewport_size(PHONE)` for the 375 px phone."""
    context = browser.new_context(viewport=DESKTOP, locale="da-DK")
    page = context.new_page()
    yield page
    context.close()
