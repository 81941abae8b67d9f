"""``headwater dag-processor`` keeps a ``dag_processor`` jobs row while it runs (what
/api/v1/health reports) and ends it when SIGTERM stops it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from command_processes import clean_env, kill_session, run_headwater, wait_for
from headwater.db.rows import JobRow
from headwater.services.context import open_context
from headwater.settings import load_settings

pytestmark = pytest.mark.slow


def test_the_dag_processor_beats_while_it_runs_and_ends_its_job(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "home")
    assert run_headwater(env, "db", "migrate").returncode == 0
    settings = load_settings(env)

    def jobs() -> list[JobRow]:
        with open_context(settings) as ctx:
            return ctx.store.list_jobs("dag_processor")

    process = subprocess.Popen(
        [sys.executable, "-m", "headwater", "dag-processor", "--quiet"],
        env={**env, "HEADWATER__SCHEDULER__HEARTBEAT_INTERVAL_S": "0.1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(lambda: jobs() or process.poll() is not None, "the processor's job")
        [started] = jobs()
        assert started.ended_at is None
        wait_for(lambda: jobs()[0].heartbeat_at > started.heartbeat_at, "a heartbeat")
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        kill_session(process.pid)
        process.wait()
    assert process.returncode == 0, err
    [ended] = jobs()
    assert ended.ended_at is not None
