"""Browser tests: real Chromium (Debian's ``chromium``, or ``HEADWATER_CHROMIUM``) driven by
Playwright through ``executable_path`` against the app served by a real uvicorn server on
127.0.0.1. Without Chromium they are skipped, or fail when ``CI`` is set (``.ci/run``
installs it).

* ``live_url``: where ``app`` (of ``tests/web_fixtures.py``) is served, e.g.
  ``http://127.0.0.1:43125``; ``act_as(level)`` logs every request in as that principal.
* ``page``: a fresh page (1280x800) of a fresh browser context.
* ``screenshot(page, name)``: saves ``test-output/screenshots/<name>.png`` at the
  repository root, for docs/ui.md and for people to look at.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

SCREENSHOTS = Path(__file__).parents[2] / "test-output" / "screenshots"


def _chromium() -> str | None:
    given = os.environ.get("HEADWATER_CHROMIUM")
    if given:
        return given
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _chromium()
    if path is None:
        reason = "Chromium is not installed (apt-get install chromium, or set HEADWATER_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(1000):  # bounded: 10 s
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.01)
        assert server.started, "the test server did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def screenshot() -> Callable[[object, str], Path]:
    def take(page: object, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path

    return take
