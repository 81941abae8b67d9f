"""serve_in_thread (for ``headwater standalone``): serves in a thread, then stops."""

from __future__ import annotations

import httpx
import pytest

from headwater.exceptions import HeadwaterError
from headwater.settings import Settings
from headwater.web.server import serve_in_thread, server_url


def test_it_serves_until_stopped(web_settings: Settings) -> None:
    handle = serve_in_thread(web_settings, port=0)
    try:
        assert handle.url == f"http://127.0.0.1:{handle.port}"
        response = httpx.get(f"{handle.url}/api/v1/health", timeout=5)
        assert response.status_code == 200
        assert response.json()["metadatabase"]["status"] == "healthy"
    finally:
        handle.stop()
    assert not handle.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{handle.url}/api/v1/version", timeout=5)


def test_a_taken_port_is_an_error_not_a_silent_thread(web_settings: Settings) -> None:
    first = serve_in_thread(web_settings, port=0)
    try:
        taken = f"cannot listen on 127.0.0.1:{first.port}: Address already in use; choose"
        with pytest.raises(HeadwaterError, match=taken):
            serve_in_thread(web_settings, port=first.port)
    finally:
        first.stop()


def test_the_url_shown_is_the_base_url_when_set(web_settings: Settings) -> None:
    assert server_url(web_settings, "0.0.0.0", 8080) == "http://127.0.0.1:8080"
    assert server_url(web_settings, "::1", 8080) == "http://[::1]:8080"
    from dataclasses import replace

    behind_proxy = replace(
        web_settings, api=replace(web_settings.api, base_url="https://hw.example.com/")
    )
    assert server_url(behind_proxy, "127.0.0.1", 8080) == "https://hw.example.com"
