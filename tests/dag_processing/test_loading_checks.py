"""Loading defects: ids the scheduler cannot run, a file that calls sys.exit(), a file that
hangs while others wait, a database created by the commands that refuse it, import errors
full of headwater's own frames, and ``standalone`` silent about stored import errors."""

from __future__ import annotations

import json
import textwrap
import threading
import time
from pathlib import Path

import pytest
from service_cli import invoke

from headwater.authoring.operator_arguments import validate_task_id
from headwater.clock import FakeClock
from headwater.dag_processing.processor import DagFolderProcessor, ScanReport
from headwater.exceptions import DagDefinitionError
from headwater.loading.dagbag import DagBag
from headwater.store.sql import SqlStore

GOOD = """\
from headwater import DAG
from headwater.operators import EmptyOperator

with DAG("{dag_id}"):
    EmptyOperator(task_id="t")
"""

BROKEN = """\
# a headwater DAG file whose own code fails
from headwater import DAG


def helper():
    raise ValueError("the config is missing")


helper()
"""


def write(folder: Path, name: str, source: str) -> str:
    """Write a DAG file; returns its resolved path (what the processor stores)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return str(path.resolve())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "dags"
    path.mkdir()
    return path


# -- 1. ids made only of dots ----------------------------------------------------------------


@pytest.mark.parametrize("value", [".", "..", "..."])
@pytest.mark.parametrize("what", ["task_id", "dag_id", "group_id"])
def test_ids_made_only_of_dots_are_refused(value: str, what: str) -> None:
    with pytest.raises(DagDefinitionError, match=rf"^{what} '{value}' is made only of dots"):
        validate_task_id(value, what)


@pytest.mark.parametrize("value", ["a.b", ".hidden", "v1..2", "x."])
def test_ids_with_dots_and_something_else_are_accepted(value: str) -> None:
    assert validate_task_id(value) == value


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ('with DAG(".."):\n    EmptyOperator(task_id="t")\n', "dag_id"),
        ('with DAG("dots_task"):\n    EmptyOperator(task_id=".")\n', "task_id"),
        (
            'with DAG("dots_group"):\n    with TaskGroup(".."):\n'
            '        EmptyOperator(task_id="t")\n',
            "group_id",
        ),
    ],
)
def test_a_dag_file_with_a_dots_id_is_an_import_error(folder: Path, source: str, what: str) -> None:
    header = "from headwater import DAG, TaskGroup\nfrom headwater.operators import EmptyOperator\n"
    write(folder, "dots.py", header + source)
    write(folder, "good.py", GOOD.format(dag_id="good"))

    bag = DagBag(folder)

    assert sorted(bag.dags) == ["good"]
    [error] = bag.import_errors
    assert error.path.endswith("dots.py")
    assert error.message.startswith(f"DagDefinitionError: {what} ")
    assert "made only of dots" in error.message


# -- 2. a file that calls sys.exit() while imported ------------------------------------------


EXITS = """\
# a headwater DAG file that gives up
import sys
from headwater import DAG

sys.exit(3)
"""


def test_a_file_calling_sys_exit_is_an_import_error_and_the_others_load(folder: Path) -> None:
    write(folder, "exits.py", EXITS)
    write(folder, "good.py", GOOD.format(dag_id="good"))

    bag = DagBag(folder)

    assert sorted(bag.dags) == ["good"]
    [error] = bag.import_errors
    assert error.path.endswith("exits.py")
    assert error.line == 5
    assert error.message.splitlines()[0] == "the file called sys.exit(3) while being imported"


@pytest.mark.parametrize(
    "args",
    [
        ["dags", "list", "--output", "json"],
        ["tasks", "list", "good"],
        ["dags", "test", "good", "--quiet"],
    ],
)
def test_commands_that_import_the_folder_survive_a_file_calling_sys_exit(
    folder: Path, args: list[str]
) -> None:
    write(folder, "exits.py", EXITS)
    write(folder, "good.py", GOOD.format(dag_id="good"))

    result = invoke(*args, "--folder", str(folder))

    assert result.exit_code == 0, result.output
    assert "good" in result.stdout
    if args[:2] == ["dags", "list"]:
        [error] = json.loads(result.stdout)["import_errors"]
        assert error["error"] == "the file called sys.exit(3) while being imported"


def test_the_processor_stores_sys_exit_as_an_import_error(
    sql_store: SqlStore, folder: Path, clock: FakeClock
) -> None:
    exits = write(folder, "exits.py", EXITS)
    write(folder, "good.py", GOOD.format(dag_id="good"))
    processor = DagFolderProcessor(sql_store, folder, parse_timeout_s=30.0, clock=clock)

    report = processor.scan()

    assert report.errors == {exits: 1}
    [error] = sql_store.list_import_errors()
    assert error.line == 5
    assert error.message.splitlines()[0] == "the file called sys.exit(3) while being imported"
    assert sql_store.get_dag("good") is not None


# -- 3. a file that hangs delays only itself ------------------------------------------------


def test_a_hanging_file_does_not_hold_up_the_others(
    sql_store: SqlStore, db_url: str, folder: Path, tmp_path: Path, clock: FakeClock
) -> None:
    marker = tmp_path / "go"
    # Sorted first, and imported until the test has seen the other file's DAG stored.
    slow = write(
        folder,
        "a_slow.py",
        f"""\
        # a headwater DAG file that waits for the test
        import os, time
        from headwater import DAG
        from headwater.operators import EmptyOperator

        while not os.path.exists({str(marker)!r}):
            time.sleep(0.05)
        with DAG("slow"):
            EmptyOperator(task_id="t")
        """,
    )
    quick = write(folder, "b_quick.py", GOOD.format(dag_id="quick"))
    processor = DagFolderProcessor(sql_store, folder, parse_timeout_s=120.0, clock=clock)
    reports: list[ScanReport] = []
    scanning = threading.Thread(target=lambda: reports.append(processor.scan()))

    seen_quick_first = False
    scanning.start()
    try:
        with SqlStore.from_url(db_url) as watcher:
            deadline = time.monotonic() + 30.0
            while time.monotonic() < deadline and not seen_quick_first:
                seen_quick_first = watcher.get_dag("quick") is not None
                if reports:  # the scan ended: too late to see the order
                    break
                time.sleep(0.05)
            slow_stored_yet = watcher.get_dag("slow") is not None
    finally:
        marker.touch()
        scanning.join(timeout=150.0)

    assert seen_quick_first, "the quick file's DAG was stored only after the slow file's"
    assert not slow_stored_yet
    [report] = reports
    assert report.parsed == [slow, quick]
    assert report.errors == {}
    assert sql_store.get_dag("slow") is not None
    assert sql_store.list_import_errors() == []


def test_the_first_file_in_order_keeps_a_duplicate_id_whichever_ends_first(
    sql_store: SqlStore, db_url: str, folder: Path, tmp_path: Path, clock: FakeClock
) -> None:
    # The first file (in the folder's order) ends last: it still gets the DAG, and the
    # other file the import error, as when files were stored one after another.
    marker = tmp_path / "go"
    first = write(
        folder,
        "a_first.py",
        f"""\
        # a headwater DAG file that waits for the other one to be stored
        import os, time
        from headwater import DAG
        from headwater.operators import EmptyOperator

        while not os.path.exists({str(marker)!r}):
            time.sleep(0.05)
        with DAG("shared"):
            EmptyOperator(task_id="from_first")
        """,
    )
    second = write(
        folder,
        "b_second.py",
        """\
        from headwater import DAG
        from headwater.operators import EmptyOperator

        with DAG("shared"):
            EmptyOperator(task_id="from_second")
        with DAG("second_only"):
            EmptyOperator(task_id="t")
        """,
    )
    processor = DagFolderProcessor(sql_store, folder, parse_timeout_s=120.0, clock=clock)
    reports: list[ScanReport] = []
    scanning = threading.Thread(target=lambda: reports.append(processor.scan()))
    scanning.start()
    try:
        with SqlStore.from_url(db_url) as watcher:
            deadline = time.monotonic() + 30.0
            while time.monotonic() < deadline and second not in watcher.get_dag_files():
                time.sleep(0.05)
    finally:
        marker.touch()
        scanning.join(timeout=150.0)

    [report] = reports
    assert report.errors == {second: 1}
    shared = sql_store.get_dag("shared")
    assert shared is not None and shared.fileloc == first and shared.is_active
    [error] = sql_store.list_import_errors()
    assert error.filename == second
    assert error.message == f"DagDefinitionError: DAG id 'shared' is already defined in {first}"
    files = sql_store.get_dag_files()
    assert files[first].dag_ids == ["shared"]
    assert files[second].dag_ids == ["second_only"]


# -- 4. commands that refuse a missing database do not create it ---------------------------


@pytest.mark.parametrize("args", [["scheduler", "--quiet"], ["dag-processor", "--once", "--quiet"]])
def test_a_missing_database_is_refused_and_not_created(
    tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    database = tmp_path / "fresh" / "headwater.db"
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER_DATABASE_URL", f"sqlite:///{database}")
    expected = [
        f"Error: the database {database} does not exist: run `headwater db migrate` to create it"
    ]

    for _ in range(2):  # and the same again: nothing was left behind to change the message
        result = invoke(*args)

        assert result.exit_code == 1, result.output
        assert result.stderr.strip().splitlines() == expected
        assert not database.exists()
        assert not database.parent.exists()


# -- 5. import errors without headwater's frames --------------------------------------------


def test_import_errors_show_the_files_frames_only(
    sql_store: SqlStore,
    db_url: str,
    folder: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = write(folder, "broken.py", BROKEN)
    DagFolderProcessor(sql_store, folder, parse_timeout_s=30.0, clock=clock).scan()

    [error] = sql_store.list_import_errors()
    lines = error.message.splitlines()
    assert lines[0] == "ValueError: the config is missing"
    assert lines[1] == "Traceback (most recent call last):"
    assert f'File "{broken}", line 9, in <module>' in error.message
    assert f'File "{broken}", line 6, in helper' in error.message
    assert lines[-1] == "ValueError: the config is missing"
    for headwater_frame in ("dagbag.py", "importlib", "parse_file.py"):
        assert headwater_frame not in error.message

    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "250")
    table = invoke("dags", "list-import-errors")
    assert table.exit_code == 0, table.output
    assert "ValueError: the config is missing" in table.stdout
    assert "dagbag.py" not in table.stdout
    as_json = invoke("dags", "list-import-errors", "--output", "json")
    [row] = json.loads(as_json.stdout)
    assert row["message"] == error.message


def test_dags_list_shows_the_files_frames_only(folder: Path) -> None:
    write(folder, "broken.py", BROKEN)

    result = invoke("dags", "list", "--folder", str(folder), "--output", "json")

    [error] = json.loads(result.stdout)["import_errors"]
    assert error["error"] == "ValueError: the config is missing"
    assert "helper()" in error["detail"]
    assert "dagbag.py" not in error["detail"]
    assert "importlib" not in error["detail"]


# -- 6. standalone reports the import errors already stored ----------------------------------


def test_standalone_reports_stored_import_errors_on_restart(
    sql_store: SqlStore, db_url: str, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(folder, "broken.py", BROKEN)
    write(folder, "good.py", GOOD.format(dag_id="good"))
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "250")
    started: list[bool] = []
    monkeypatch.setattr(
        "headwater.cli.services._run_scheduler", lambda *a, **k: started.append(True)
    )

    first = invoke("standalone", "--quiet")
    again = invoke("standalone", "--quiet")  # nothing changed: nothing is parsed

    assert started == [True, True]
    for run, result in (("first", first), ("again", again)):
        assert result.exit_code == 0, result.output
        assert "(1 DAG(s) loaded)" in result.stdout, run
        assert "1 file(s) failed to import" in result.stdout, run
