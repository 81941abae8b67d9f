"""``dags test`` shows deferred and rescheduled tries as they end: the state, what the task
waits for, and the log lines that say so; the task goes on in its next try."""

from __future__ import annotations

from pathlib import Path

from stored_dags import invoke

TESTS = Path(__file__).resolve().parent.parent

DAG_FILE = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from datetime import UTC, datetime

from deferral_triggers import CountingSensor, DeferTo, NowTrigger
from headwater import DAG

with DAG("waits", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None):
    wait = DeferTo(task_id="wait", trigger=NowTrigger({{"rows": 3}}))
    sense = CountingSensor(task_id="sense", done_at=2, mode="reschedule", poke_interval=0.05)
    wait >> sense
"""


def test_dags_test_shows_deferred_and_rescheduled_tries(tmp_path: Path) -> None:
    (tmp_path / "waits.py").write_text(DAG_FILE)
    result = invoke("dags", "test", "waits", "--folder", str(tmp_path))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "⏸ deferred wait (try 1/1)" in out
    assert "waiting for its trigger to resume in resume_here" in out
    assert "Deferring to deferral_triggers.NowTrigger" in out
    assert "✔ success wait (try 2/2)" in out
    assert "↺ up_for_reschedule sense (try 1/1)" in out
    assert "Rescheduling: next poke at" in out
    assert "✔ success sense (try 2/2)" in out
    assert "DAG waits succeeded" in out
