"""Loading a DAG folder in this process (``dags list``, ``dags test``, ``tasks test``,
``headwater.testing``) times each file out as the DAG processor does
(``scheduler.file_parse_timeout_s``): a file that hangs at import is an import error naming
it and the limit, and the other files load."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.loading.dagbag import DagBag
from headwater.testing import assert_dags_load, load_dags

SLEEPS = "import time\nfrom headwater import DAG\ntime.sleep(3600)\n"
SPINS = "from headwater import DAG\nwhile True:\n    pass\n"
GOOD = """
from headwater import DAG
from headwater.operators import EmptyOperator
with DAG("good"):
    EmptyOperator(task_id="a")
"""
LIMIT = "HEADWATER__SCHEDULER__FILE_PARSE_TIMEOUT_S"
MESSAGE = (
    "TimeoutError: importing the file took longer than 0.5 s and was stopped "
    "(setting scheduler.file_parse_timeout_s)"
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    dags = tmp_path / "dags"
    dags.mkdir()
    for name, text in (("sleeps.py", SLEEPS), ("spins.py", SPINS), ("good.py", GOOD)):
        (dags / name).write_text(textwrap.dedent(text))
    return dags


def headwater(*args: str) -> subprocess.CompletedProcess[str]:
    """``headwater ARGS`` in a child process with a 0.5 s import limit, itself bounded: a
    command that hangs fails the test instead of hanging the suite."""
    env = {**os.environ, LIMIT: "0.5"}
    return subprocess.run(
        [sys.executable, "-m", "headwater", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_dags_list_reports_files_that_hang_and_lists_the_others(folder: Path) -> None:
    result = headwater("dags", "list", "--folder", str(folder), "-o", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [d["dag_id"] for d in data["dags"]] == ["good"]
    errors = {Path(e["file"]).name: e for e in data["import_errors"]}
    assert errors.keys() == {"sleeps.py", "spins.py"}
    assert errors["sleeps.py"]["error"] == MESSAGE
    assert errors["sleeps.py"]["line"] == 3
    assert errors["spins.py"]["error"] == MESSAGE


def test_dags_test_and_tasks_test_run_the_dag_of_a_folder_with_a_hanging_file(
    folder: Path,
) -> None:
    for command in (["dags", "test", "good"], ["tasks", "test", "good", "a"]):
        result = headwater(*command, "--folder", str(folder))
        assert result.returncode == 0, result.stderr
        assert "good" in result.stdout and "succeeded" in result.stdout


def test_dags_test_of_the_hanging_file_says_it_timed_out(folder: Path) -> None:
    (folder / "sleeps.py").write_text(SLEEPS.replace("import time", "import time  # dag 'slow'"))
    result = headwater("dags", "test", "slow", "--folder", str(folder))
    assert result.returncode == 1
    assert f"{folder / 'sleeps.py'}:3: {MESSAGE}" in result.stderr


@pytest.fixture
def bounded() -> Iterator[None]:
    """Fail an in-process test that is still running after 60 s (the loader keeps a timer
    that is due before its own)."""

    def too_long(signum: int, frame: object) -> None:
        pytest.fail("the test ran for 60 s: loading did not time out")

    previous = signal.signal(signal.SIGALRM, too_long)
    signal.setitimer(signal.ITIMER_REAL, 60)
    try:
        yield
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < left <= 60  # the loader set the outer timer again
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_the_testing_helpers_time_files_out(
    folder: Path, bounded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LIMIT, "0.5")
    bag = load_dags(folder)
    assert list(bag.dags) == ["good"]
    assert sorted(e.message for e in bag.import_errors) == [MESSAGE, MESSAGE]
    with pytest.raises(AssertionError, match=r"2 DAG file\(s\) failed to load"):
        assert_dags_load(folder, import_timeout_s=0.5)


def test_off_the_main_thread_files_load_without_a_limit_and_a_warning_says_so(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bags: list[DagBag] = []
    worker = threading.Thread(target=lambda: bags.append(DagBag(folder / "good.py", 0.5)))
    with caplog.at_level(logging.WARNING, logger="headwater.loading.dagbag"):
        worker.start()
        worker.join(timeout=60)
    assert not worker.is_alive()
    assert list(bags[0].dags) == ["good"]
    assert "without the 0.5 s time limit" in caplog.text
