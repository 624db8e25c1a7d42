"""A real `heard serve` on 127.0.0.1 (random port, fresh HEARD_HOME) and Chromium via Playwright.

Skipped, with the reason, when /usr/bin/chromium or the playwright package is missing.
Screenshots go to a temporary folder, or to $HEARD_SCREENSHOTS when it is set:
`make docs-images` sets it to docs/screenshots to refresh the documentation's images on purpose.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.web.live_server import start_server

CHROMIUM = Path(os.environ.get("HEARD_CHROMIUM", "/usr/bin/chromium"))
HEARD = [sys.executable, "-m", "heard"]
PASSWORD = "demo-password-123"

try:
    import playwright.sync_api  # noqa: F401

    _PLAYWRIGHT = True
except ImportError:
    _PLAYWRIGHT = False

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found: apt-get install "
                       "chromium (or set HEARD_CHROMIUM)"),
    pytest.mark.skipif(not _PLAYWRIGHT, reason="playwright is not installed: pip install "
                       "'heard[test]'"),
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e" in str(item.fspath).replace(os.sep, "/"):
            for mark in pytestmark:
                item.add_marker(mark)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """Start `heard serve` and yield its base URL; stop it at the end."""
    home = tmp_path_factory.mktemp("heard-e2e")
    env = {**os.environ, "HEARD_HOME": str(home / "home")}
    env.pop("DATABASE_URL", None)  # the browser tests use their own SQLite store
    data = home / "data"
    subprocess.run([*HEARD, "sample-data", str(data), "--responses", "120", "--seed", "3"],
                   env=env, check=True, capture_output=True)
    subprocess.run([*HEARD, "user", "add", "lead@example.org", "--role", "admin",
                    "--password", PASSWORD], env=env, check=True, capture_output=True)
    running = start_server(env, home / "serve.log")
    yield {"url": running.url, "data": data, "env": env, "log": home / "serve.log"}
    running.stop(timeout=10)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


@contextmanager
def analysed_sample_server(home: Path, *, responses: int, seed: int, env: dict | None = None):
    """`heard serve` on a fresh HEARD_HOME under ``home`` with one sample consultation,
    "demo", analysed offline (static embedder), and the lead's account; yields its URL."""
    env = {**os.environ, **(env or {}), "HEARD_HOME": str(home / "home")}
    env.pop("DATABASE_URL", None)  # the browser tests use their own SQLite store
    data = home / "data"
    for args in (["sample-data", str(data), "--responses", str(responses), "--seed", str(seed)],
                 ["import", str(data), "--consultation", "demo"],
                 ["analyse", "demo", "--embedder", "static"],
                 ["user", "add", "lead@example.org", "--role", "admin", "--password", PASSWORD]):
        subprocess.run([*HEARD, *args], env=env, check=True, capture_output=True)
    running = start_server(env, home / "serve.log")
    try:
        yield running.url
    finally:
        running.stop(timeout=10)


@contextmanager
def signed_in_page(browser, url: str, *, timeout_ms: int = 20_000):
    """A page of its own browser context, signed in as the lead at ``url``; closed after."""
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    page.goto(url + "/sign-in/")
    page.get_by_label("Email address").fill("lead@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Consultations").wait_for()
    try:
        yield page
    finally:
        context.close()


def check_accessibility(page) -> None:
    """axe-core finds no serious or critical violation on the current page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in
           ("serious", "critical")]
    details = [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]]) for v in bad]
    assert not bad, f"{page.url}: {details}"


_SCREENSHOTS: dict[str, Path] = {}


@pytest.fixture(scope="session", autouse=True)
def screenshot_folder(tmp_path_factory) -> Path:
    """Where screenshots go: $HEARD_SCREENSHOTS, else a temporary folder (never the checkout)."""
    chosen = os.environ.get("HEARD_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    _SCREENSHOTS["folder"] = folder
    return folder


def screenshot(page, name: str, full_page: bool = True) -> None:
    path = _SCREENSHOTS["folder"] / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 0, path
