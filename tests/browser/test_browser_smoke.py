"""The browser fixtures work: Chromium opens a page of the live server."""

from __future__ import annotations


def test_chromium_reads_the_openapi_spec_from_the_live_server(page: object, live_url: str) -> None:
    response = page.goto(f"{live_url}/api/v1/openapi.json")  # type: ignore[attr-defined]
    assert response.status == 200
    assert '"title":"headwater"' in page.content()  # type: ignore[attr-defined]
