"""benchmarks/scale_out.py at a tiny size: the same chain through the local pool and through
one real Celery worker on Redis, reported side by side with the issue's targets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "scale_out.py"


def _redis_or_skip() -> None:
    try:
        socket.create_connection(("127.0.0.1", 6379), 3).close()
    except OSError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at 127.0.0.1:6379: {exc}")
        pytest.skip(f"Redis is not reachable at 127.0.0.1:6379: {exc}")


def test_reports_the_local_pool_and_celery_side_by_side(tmp_path: Path) -> None:
    _redis_or_skip()
    size = 3
    command = [
        sys.executable,
        str(SCRIPT),
        *("--configs", "local,celery-1", "--shapes", "chain", "--chain-size", str(size)),
        *("--repeat", "1", "--no-warmup", "--no-dag-processor", "--idle-wait", "0"),
        *("--settle", "0", "--tmp", str(tmp_path), "--json"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)

    assert [(r["config"], r["shape"], r["n"]) for r in result["rows"]] == [
        ("local", "chain", size),
        ("celery-1", "chain", size),
    ]
    for row in result["rows"]:
        assert row["execution_tasks_per_s"] > 0
        assert row["gap_median_s"] >= 0
    (gap,) = [v for v in result["verdicts"] if "median gap" in v["target"]]
    assert gap["met"] is (result["rows"][1]["gap_median_s"] < 0.020)
