"""benchmarks/statement_counts.py at tiny sizes, on SQLite: it runs through the real scheduler
with the settings it sets (a settings check added later once broke it unnoticed) and prints
the per-task figures it is read for: a no-op task of a fan-out costs three write
transactions on SQLite (the queueing, the claim, the recorded outcome)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "statement_counts.py"


def test_counts_the_transactions_of_a_tiny_fan_out(tmp_path: Path) -> None:
    arguments = ["--sizes", "2,4", "--shape", "fanout", "--no-postgres", "--json"]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)["databases"]["sqlite"]
    assert figures["transactions"]["per_task"] == figures["writes"]["per_task"] == 3.0, figures
