"""benchmarks/database_setup.py once on SQLite: it builds new databases both ways (each
ends up to date, or the script exits) and reports each measure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "database_setup.py"


def test_reports_a_new_database_the_chain_and_the_check(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--repeat", "1", "--no-postgres", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)["results"]
    assert list(figures) == ["sqlite"]
    measures = figures["sqlite"]
    assert list(measures) == [
        "new database (upgrade)",
        "the whole chain, one by one",
        "check (up to date)",
    ]
    assert all(len(times) == 1 and times[0] > 0 for times in measures.values()), measures
