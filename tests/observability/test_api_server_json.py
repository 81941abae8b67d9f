"""``headwater api-server`` with ``[logging] format = json``: every line it writes to stderr,
uvicorn's access and error lines included, is one JSON object (a real server process)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from command_processes import clean_env, kill_session, run_headwater, wait_for

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("workers", [1, 2])
def test_every_line_of_the_api_server_is_json(tmp_path: Path, workers: int) -> None:
    env = {**clean_env(tmp_path / "home"), "HEADWATER__LOGGING__FORMAT": "json"}
    assert run_headwater(env, "db", "migrate").returncode == 0
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater", "api-server", f"--port={port}", f"--workers={workers}"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    version = f"http://127.0.0.1:{port}/api/v1/version"
    try:
        wait_for(lambda: _answers(version) or process.poll() is not None, "the server")
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        kill_session(process.pid)
        process.wait()

    lines = [json.loads(line) for line in err.splitlines()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert any('"GET /api/v1/version HTTP/1.1" 200' in str(line["message"]) for line in access)
    assert any(line["logger"] == "uvicorn.error" for line in lines)
