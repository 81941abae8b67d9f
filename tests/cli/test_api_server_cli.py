"""``headwater api-server`` as a real process: it serves /api/v1 on the port asked for and
stops with exit 0 on SIGTERM; a database that is not migrated, or an option out of range,
is refused in one line before anything is served."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from command_processes import clean_env, kill_session, run_headwater, wait_for
from headwater import __version__
from headwater.cli import cli

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
def test_it_serves_health_and_version_and_stops_on_sigterm(tmp_path: Path, workers: int) -> None:
    env = clean_env(tmp_path / "home")
    assert run_headwater(env, "db", "migrate").returncode == 0
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater", "api-server", f"--port={port}", f"--workers={workers}"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        wait_for(lambda: _answers(f"{base}/version") or process.poll() is not None, "the server")
        assert process.poll() is None, process.communicate()
        assert httpx.get(f"{base}/version").json()["version"] == __version__
        health = httpx.get(f"{base}/health")
        assert health.status_code == 200
        assert health.json()["metadatabase"]["status"] == "healthy"
        assert health.json()["scheduler"]["status"] == "unhealthy"  # none runs
        assert httpx.get(f"{base}/backfills").status_code == 401
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        kill_session(process.pid)
        process.wait()
    assert process.returncode == 0, err
    assert f"headwater UI: http://127.0.0.1:{port}" in out


def test_a_database_not_migrated_is_refused_in_one_line(tmp_path: Path) -> None:
    done = run_headwater(clean_env(tmp_path / "home"), "api-server", f"--port={_free_port()}")
    assert done.returncode == 1
    assert "headwater db migrate" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "headwater UI" not in done.stdout


@pytest.mark.parametrize(
    ("option", "name"),
    [("--port=0", "--port"), ("--port=70000", "--port"), ("--workers=0", "--workers")],
)
def test_an_option_out_of_range_is_refused_naming_it(option: str, name: str) -> None:
    result = CliRunner().invoke(cli, ["api-server", option])
    assert result.exit_code == 2
    assert f"Invalid value for '{name}'" in result.output
