"""The interactive API docs (/api/v1/docs) load in real Chromium under the app's CSP, from
the package's Swagger UI files (no CDN), and list the API's operations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def test_the_docs_page_lists_the_operations(
    page: Any, live_url: str, screenshot: Callable[[object, str], Path]
) -> None:
    problems: list[str] = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    outside: list[str] = []
    page.on(
        "request",
        lambda request: None if request.url.startswith(live_url) else outside.append(request.url),
    )

    page.goto(f"{live_url}/api/v1/docs")  # public: no login
    page.locator(".opblock").first.wait_for(timeout=15_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    methods = page.locator(".opblock-summary-method").all_inner_texts()
    operations = {
        (m.strip(), p.replace("\u200b", "").strip()) for m, p in zip(methods, paths, strict=True)
    }
    assert {
        ("GET", "/api/v1/backfills"),
        ("POST", "/api/v1/backfills"),
        ("POST", "/api/v1/backfills/{backfill_id}/cancel"),
        ("GET", "/api/v1/health"),
        ("GET", "/api/v1/version"),
    } <= operations
    assert page.locator(".info .title").inner_text().startswith("headwater")
    screenshot(page, "api_docs")
    assert outside == []
    assert problems == []
