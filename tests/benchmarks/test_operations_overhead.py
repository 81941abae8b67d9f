"""benchmarks/operations_overhead.py at a tiny size: a real scheduler runs the DAG with
lineage and metrics off, then on; the script checks what its receiver and its scrapes got,
and reports both modes with the slowdown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "operations_overhead.py"


def test_reports_both_modes_with_the_events_and_the_metrics_really_sent(tmp_path: Path) -> None:
    size = 3
    command = [
        sys.executable,
        str(SCRIPT),
        *("--size", str(size), "--repeat", "1", "--modes", "off,on"),
        *("--no-warmup", "--no-dag-processor", "--idle-wait", "0", "--settle", "0"),
        *("--scrape-interval", "0.2", "--lineage-batch-wait", "30"),
        *("--tmp", str(tmp_path), "--json"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)

    assert result["n"] == size
    assert result["database"] == "SQLite"
    off, on = result["rows"]
    assert (off["mode"], on["mode"]) == ("off", "on")
    assert off["slowdown"] == 0
    assert on["slowdown"] == pytest.approx(
        off["execution_tasks_per_s"] / on["execution_tasks_per_s"] - 1
    )
    assert result["verdict"]["measured"] == on["slowdown"]
    assert result["verdict"]["met"] is (on["slowdown"] < 0.10)

    (off_run,) = off["runs"]
    assert off_run["checks"] == {}
    (on_run,) = on["runs"]
    lineage = on_run["checks"]["lineage"]
    # START and COMPLETE of the run and of each task, each task's parent the run.
    # Batches (100 by default) that no run fills and none waits out: one request per
    # process at its exit (each worker's and the scheduler's).
    assert result["lineage_batch_size"] == 100
    assert lineage.pop("requests") <= 1 + min(result["parallelism"], size)
    assert lineage == {
        "events": 2 * (size + 1),
        "expected": 2 * (size + 1),
        "missing": [],
        "unexpected": [],
        "without_parent": 0,
    }
    metrics = on_run["checks"]["metrics"]
    assert metrics["attempts_ended"] == {"success": size}
    assert metrics["runs_ended"] == {"success": 1}
    assert metrics["scrapes"] >= 1
    assert metrics["scrape_failures"] == []
    # The homes are gone with the work folder.
    assert not list(tmp_path.glob("headwater-ops-*"))


def test_the_tables_come_back_from_a_saved_result(tmp_path: Path) -> None:
    saved = tmp_path / "result.json"
    saved.write_text(json.dumps(SAVED))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--from-json", str(saved)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "+5.0 %" in done.stdout
    assert "met" in done.stdout and "NOT met" not in done.stdout


def _row(mode: str, tasks_per_s: float, slowdown: float) -> dict[str, object]:
    return {
        "mode": mode,
        "repeats": 1,
        "execution_tasks_per_s": tasks_per_s,
        "tasks_per_s": tasks_per_s,
        "attempt_median_s": 0.001,
        "slowdown": slowdown,
        "slowdown_paired": slowdown,
        "slowdown_total": slowdown,
        "runs": [{"checks": {}}],
    }


SAVED = {
    "machine": {
        "nproc": 2,
        "cpu": "x",
        "python": "3.11",
        "date": "2026-12-05T12:00:00+00:00",
        "loadavg_at_start": [1.0, 1.0, 1.0],
    },
    "headwater_version": "0.1.0",
    "commit": "abc1234",
    "shape": "fanout",
    "kind": "task",
    "n": 1000,
    "parallelism": 2,
    "repeat": 1,
    "modes": ["off", "on"],
    "scrape_interval": 1.0,
    "database": "SQLite",
    "rows": [_row("off", 800.0, 0.0), _row("on", 800 / 1.05, 0.05)],
    "verdict": {"target": 0.1, "measured": 0.05, "paired": 0.05, "met": True},
}
