"""The DAG-folder processor on SQLite and PostgreSQL: what a scan stores, keeps and forgets.

Each scan imports changed files in child processes (about 0.3 s each, run side by side), so
the tests put several files in one scan rather than scanning many times.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from service_cli import invoke

from headwater.clock import FakeClock
from headwater.dag_processing.processor import DagFolderProcessor, ScanReport
from headwater.dag_processing.serialized_dag import deserialize_dag
from headwater.db.rows import DagRow
from headwater.scheduler.service import run_processor_loop
from headwater.store.sql import SqlStore

HEADER = """\
from datetime import UTC, datetime, timedelta
from headwater import DAG
from headwater.operators import EmptyOperator
"""


def dag_source(dags: dict[str, list[str]], **options: str) -> str:
    """A DAG file defining each DAG of ``dags`` as a chain of empty tasks.

    ``options`` are extra ``DAG(...)`` arguments as source text, by DAG id.
    """
    blocks = []
    for dag_id, tasks in dags.items():
        extra = f", {options[dag_id]}" if dag_id in options else ""
        chain = " >> ".join(f'EmptyOperator(task_id="{t}")' for t in tasks)
        blocks.append(f'with DAG("{dag_id}"{extra}):\n    {chain}\n')
    return HEADER + "\n" + "\n".join(blocks)


def write(folder: Path, name: str, source: str) -> str:
    """Write a DAG file; returns its resolved path (what the processor stores)."""
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return str(path.resolve())


def task_ids(store: SqlStore, dag_id: str) -> set[str]:
    row = stored(store, dag_id)
    assert row.serialized is not None
    return set(deserialize_dag(row.serialized).task_dict)


def stored(store: SqlStore, dag_id: str) -> DagRow:
    row = store.get_dag(dag_id)
    assert row is not None, f"DAG {dag_id!r} was not stored"
    return row


def errors_by_file(store: SqlStore) -> dict[str, list[tuple[int | None, str]]]:
    found: dict[str, list[tuple[int | None, str]]] = {}
    for error in store.list_import_errors():
        found.setdefault(error.filename, []).append((error.line, error.message))
    return found


def is_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its parent counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: take it as alive
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until_gone(pids: list[int], deadline_s: float = 10.0) -> list[int]:
    """Poll until no process of ``pids`` runs; returns those still running at the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        alive = [pid for pid in pids if is_running(pid)]
        if not alive or time.monotonic() > end:
            return alive
        time.sleep(0.05)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "dags"
    path.mkdir()
    return path


@pytest.fixture
def processor(sql_store: SqlStore, folder: Path, clock: FakeClock) -> DagFolderProcessor:
    # A generous timeout: two test workers share two cores, and a parse that is only slow
    # must not be taken for a hang.
    return DagFolderProcessor(sql_store, folder, parse_timeout_s=30.0, clock=clock)


# -- new, unchanged, changed files ---------------------------------------------------------------


def test_new_files_are_stored_and_an_unchanged_folder_parses_nothing(
    sql_store: SqlStore, folder: Path, processor: DagFolderProcessor, clock: FakeClock
) -> None:
    pipeline = write(
        folder,
        "pipeline.py",
        dag_source(
            {"nightly": ["extract", "load"], "hourly": ["tick"]},
            nightly='schedule="@daily", start_date=datetime(2024, 1, 1, tzinfo=UTC), '
            'tags=["etl", "finance"], description="Loads the warehouse every night"',
            hourly="schedule=timedelta(hours=1), start_date=datetime(2024, 1, 1, tzinfo=UTC)",
        ),
    )
    # DAGs built in a function and never bound to a module-level name are found too.
    factory = write(
        folder,
        "factory.py",
        """\
        from headwater import DAG
        from headwater.operators import EmptyOperator

        def build(dag_id: str) -> DAG:
            with DAG(dag_id, tags=["generated"]) as dag:
                EmptyOperator(task_id="only")
            return dag

        for name in ("made_a", "made_b"):
            build(name)
        """,
    )
    # Printing at import time, even something that looks like a parse result, changes nothing.
    noisy = write(
        folder,
        "noisy.py",
        textwrap.dedent(
            """\
            import sys
            print("hello from a headwater dag file")
            print('{"dags": [], "errors": [{"line": 1, "message": "not me"}]}')
            sys.stdout.write("and no newline at the end")
            """
        )
        + dag_source({"noisy": ["speak"]}),
    )
    (folder / "notes.py").write_text("print('no DAGs here: never imported')\n")

    report = processor.scan()

    assert sorted(report.parsed) == sorted([pipeline, factory, noisy])
    assert report.errors == {}
    assert report.deleted == []
    assert sql_store.list_import_errors() == []
    assert [d.dag_id for d in sql_store.list_dags()] == [
        "hourly",
        "made_a",
        "made_b",
        "nightly",
        "noisy",
    ]

    nightly = stored(sql_store, "nightly")
    assert nightly.fileloc == pipeline
    assert nightly.schedule == "@daily"
    assert nightly.tags == ["etl", "finance"]
    assert nightly.description == "Loads the warehouse every night"
    assert nightly.is_active
    assert not nightly.is_paused
    assert nightly.last_parsed_at == clock.now()
    assert nightly.serialized is not None
    rebuilt = deserialize_dag(nightly.serialized)
    assert rebuilt.dag_id == "nightly"
    assert set(rebuilt.task_dict) == {"extract", "load"}
    assert set(rebuilt.task_dict["extract"].downstream_task_ids) == {"load"}
    assert stored(sql_store, "hourly").schedule == "1:00:00"
    assert stored(sql_store, "made_b").fileloc == factory
    assert stored(sql_store, "made_b").tags == ["generated"]
    assert task_ids(sql_store, "noisy") == {"speak"}

    files = sql_store.get_dag_files()
    assert sorted(files) == sorted([pipeline, factory, noisy])
    row = files[pipeline]
    assert sorted(row.dag_ids) == ["hourly", "nightly"]
    assert row.source_hash == hashlib.sha256(Path(pipeline).read_bytes()).hexdigest()
    assert row.mtime == Path(pipeline).stat().st_mtime
    assert sorted(files[factory].dag_ids) == ["made_a", "made_b"]

    again = processor.scan()

    assert again == ScanReport()
    assert len(sql_store.list_dags()) == 5


def test_a_changed_file_is_parsed_again_and_keeps_what_people_set(
    sql_store: SqlStore, folder: Path, processor: DagFolderProcessor
) -> None:
    path = write(
        folder,
        "etl.py",
        dag_source({"etl": ["extract"], "retired": ["old"]}, etl='description="first version"'),
    )
    processor.scan()
    assert sql_store.set_dag_paused("etl", True)

    write(
        folder,
        "etl.py",
        dag_source({"etl": ["extract", "load"]}, etl='description="second version", tags=["v2"]'),
    )
    report = processor.scan()

    assert report.parsed == [path]
    etl = stored(sql_store, "etl")
    assert task_ids(sql_store, "etl") == {"extract", "load"}
    assert etl.description == "second version"
    assert etl.tags == ["v2"]
    assert etl.is_paused, "a re-parse must not unpause a DAG a person paused"
    assert etl.is_active
    # A DAG gone from its file is inactive: listed only with the inactive ones.
    assert not stored(sql_store, "retired").is_active
    assert [d.dag_id for d in sql_store.list_dags()] == ["etl"]
    assert [d.dag_id for d in sql_store.list_dags(include_inactive=True)] == ["etl", "retired"]
    assert sql_store.get_dag_files()[path].dag_ids == ["etl"]

    # Back in the file, the DAG is active again.
    write(folder, "etl.py", dag_source({"etl": ["extract", "load"], "retired": ["old"]}))
    processor.scan()

    assert stored(sql_store, "retired").is_active
    assert stored(sql_store, "etl").is_paused


def test_an_unchanged_file_is_parsed_again_once_its_last_parse_is_old_enough(
    sql_store: SqlStore, folder: Path, tmp_path: Path, clock: FakeClock
) -> None:
    """A DAG built from a config file follows the config, as in Airflow
    (``min_file_process_interval``), though its own file does not change."""
    config = tmp_path / "tables.json"
    config.write_text('["orders"]')
    path = write(
        folder,
        "generated.py",
        f"""\
        import json
        from pathlib import Path

        from headwater import DAG
        from headwater.operators import EmptyOperator

        with DAG("generated"):
            for table in json.loads(Path({str(config)!r}).read_text()):
                EmptyOperator(task_id=f"load_{{table}}")
        """,
    )
    processor = DagFolderProcessor(sql_store, folder, reparse_interval_s=30.0, clock=clock)
    assert processor.scan().parsed == [path]
    config.write_text('["orders", "customers"]')

    clock.advance(timedelta(seconds=29))
    assert processor.scan().parsed == []  # not yet due
    assert task_ids(sql_store, "generated") == {"load_orders"}

    clock.advance(timedelta(seconds=1))
    assert processor.scan().parsed == [path]
    assert task_ids(sql_store, "generated") == {"load_orders", "load_customers"}
    assert sql_store.get_dag_files()[path].last_parsed_at == clock.now()

    clock.advance(timedelta(hours=1))  # 0 turns it off: only changed files are parsed
    assert DagFolderProcessor(sql_store, folder, clock=clock).scan().parsed == []


def test_paused_at_creation_default_and_the_dags_own_choice(
    sql_store: SqlStore, folder: Path, clock: FakeClock
) -> None:
    write(
        folder,
        "first.py",
        dag_source(
            {"plain": ["t"], "wants_to_run": ["t"]},
            wants_to_run="is_paused_upon_creation=False",
        ),
    )
    DagFolderProcessor(sql_store, folder, paused_at_creation=True, clock=clock).scan()

    assert stored(sql_store, "plain").is_paused
    assert not stored(sql_store, "wants_to_run").is_paused

    write(
        folder,
        "second.py",
        dag_source(
            {"later_plain": ["t"], "wants_a_pause": ["t"]},
            wants_a_pause="is_paused_upon_creation=True",
        ),
    )
    DagFolderProcessor(sql_store, folder, paused_at_creation=False, clock=clock).scan()

    assert not stored(sql_store, "later_plain").is_paused
    assert stored(sql_store, "wants_a_pause").is_paused
    # Only creation takes the default: DAGs already stored keep their state.
    assert stored(sql_store, "plain").is_paused
    assert not stored(sql_store, "wants_to_run").is_paused


# -- files that fail ----------------------------------------------------------------------------


def test_import_errors_are_stored_with_their_line_and_cleared_once_fixed(
    sql_store: SqlStore, folder: Path, processor: DagFolderProcessor
) -> None:
    syntax = write(
        folder,
        "syntax.py",
        """\
        from headwater import DAG

        def broken(:
            pass
        """,
    )
    raising = write(
        folder,
        "raising.py",
        """\
        from headwater import DAG

        def connect():
            raise RuntimeError("no route to the warehouse")

        connect()
        """,
    )
    good = write(folder, "good.py", dag_source({"good": ["t"]}))

    report = processor.scan()

    assert sorted(report.parsed) == sorted([syntax, raising, good])
    assert report.errors == {syntax: 1, raising: 1}
    errors = errors_by_file(sql_store)
    assert sorted(errors) == sorted([syntax, raising])
    [(line, message)] = errors[syntax]
    assert line == 3
    assert message.startswith("SyntaxError")
    [(line, message)] = errors[raising]
    assert line == 4
    assert message.startswith("RuntimeError: no route to the warehouse")
    assert stored(sql_store, "good").is_active
    files = sql_store.get_dag_files()
    assert files[syntax].dag_ids == []
    assert files[raising].dag_ids == []

    write(folder, "syntax.py", dag_source({"was_syntax": ["t"]}))
    write(folder, "raising.py", dag_source({"was_raising": ["t"]}))
    report = processor.scan()

    assert sorted(report.parsed) == sorted([syntax, raising])
    assert report.errors == {}
    assert sql_store.list_import_errors() == []
    assert {d.dag_id for d in sql_store.list_dags()} == {"good", "was_syntax", "was_raising"}


def test_a_file_that_hangs_is_stopped_after_the_timeout_and_the_others_load(
    sql_store: SqlStore, folder: Path, tmp_path: Path, clock: FakeClock
) -> None:
    pids = tmp_path / "pids.txt"
    hang = write(
        folder,
        "hang.py",
        f"""\
        # a headwater DAG file that never finishes importing
        import os, subprocess, sys, time

        sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
        helper = subprocess.Popen(sleeper)
        # This one leaves the process group (so the kill misses it) and holds stdout open.
        escaped = subprocess.Popen(sleeper, start_new_session=True)
        with open({str(pids)!r}, "w") as f:
            f.write(f"{{os.getpid()}} {{helper.pid}} {{escaped.pid}}")
        time.sleep(600)
        """,
    )
    good = write(folder, "good.py", dag_source({"good": ["t"]}))
    also_good = write(folder, "zz_also_good.py", dag_source({"also_good": ["t"]}))
    processor = DagFolderProcessor(sql_store, folder, parse_timeout_s=1.5, clock=clock)

    try:
        report = processor.scan()
    finally:
        started = [int(pid) for pid in pids.read_text().split()] if pids.exists() else []
        escaped = started[2:]
        for pid in escaped:
            os.kill(pid, signal.SIGKILL)

    assert len(started) == 3, "the hanging file was stopped before it started its helpers"
    assert sorted(report.parsed) == sorted([hang, good, also_good])
    assert report.errors == {hang: 1}
    [(line, message)] = errors_by_file(sql_store)[hang]
    assert line is None
    assert "took longer than 1.5 s" in message
    assert "scheduler.file_parse_timeout_s" in message
    assert stored(sql_store, "good").is_active
    assert stored(sql_store, "also_good").is_active
    # The child and what it started in its process group are killed, not left behind.
    assert wait_until_gone(started[:2]) == []


def test_a_file_that_crashes_the_interpreter_keeps_its_last_good_dags(
    sql_store: SqlStore, folder: Path, processor: DagFolderProcessor
) -> None:
    exits = write(folder, "exits.py", dag_source({"exits_dag": ["a"]}))
    segfaults = write(folder, "segfaults.py", dag_source({"segfaults_dag": ["a"]}))
    processor.scan()
    before = {dag_id: stored(sql_store, dag_id) for dag_id in ("exits_dag", "segfaults_dag")}

    write(
        folder,
        "exits.py",
        dag_source({"exits_dag": ["a", "b"]})
        + "import os, sys\n"
        + "print('cannot reach the config service', file=sys.stderr, flush=True)\n"
        + "os._exit(3)\n",
    )
    write(
        folder,
        "segfaults.py",
        dag_source({"segfaults_dag": ["a", "b"]}) + "import ctypes\nctypes.string_at(0)\n",
    )
    report = processor.scan()

    assert report.errors == {exits: 1, segfaults: 1}
    errors = errors_by_file(sql_store)
    [(line, message)] = errors[exits]
    assert line is None
    assert "exit code 3" in message
    assert "cannot reach the config service" in message
    [(line, message)] = errors[segfaults]
    assert f"signal {int(signal.SIGSEGV)}" in message
    for dag_id, row in before.items():
        now = stored(sql_store, dag_id)
        assert now.is_active
        assert now.serialized == row.serialized
        assert task_ids(sql_store, dag_id) == {"a"}
    files = sql_store.get_dag_files()
    assert files[exits].dag_ids == ["exits_dag"]
    assert files[segfaults].dag_ids == ["segfaults_dag"]


# -- duplicates, deleted and moved DAGs ---------------------------------------------------------


def test_duplicate_dag_ids_and_a_deleted_file(
    sql_store: SqlStore, folder: Path, processor: DagFolderProcessor
) -> None:
    first = write(folder, "first.py", dag_source({"shared": ["from_first"]}))
    second = write(
        folder, "second.py", dag_source({"shared": ["from_second"], "second_only": ["t"]})
    )

    report = processor.scan()

    assert report.errors == {second: 1}
    [(_, message)] = errors_by_file(sql_store)[second]
    assert "'shared'" in message
    assert first in message
    assert stored(sql_store, "shared").fileloc == first
    assert task_ids(sql_store, "shared") == {"from_first"}
    assert stored(sql_store, "second_only").is_active
    assert sql_store.get_dag_files()[second].dag_ids == ["second_only"]

    Path(second).unlink()
    report = processor.scan()

    assert report.parsed == []
    assert report.deleted == [second]
    assert not stored(sql_store, "second_only").is_active
    assert stored(sql_store, "shared").is_active
    assert stored(sql_store, "shared").fileloc == first
    assert list(sql_store.get_dag_files()) == [first]
    assert sql_store.list_import_errors() == []


def test_dags_moved_to_another_file_are_taken_over_in_the_same_scan(
    sql_store: SqlStore, folder: Path, processor: DagFolderProcessor
) -> None:
    # A renamed file, and a DAG moved out of a file that stays: the new file sorts (and is
    # stored) first, while the old definitions are still the active ones.
    write(folder, "old_name.py", dag_source({"renamed": ["t"]}))
    keeper = write(folder, "keeper.py", dag_source({"keep": ["t"], "moving": ["t"]}))
    processor.scan()

    (folder / "old_name.py").unlink()
    write(folder, "keeper.py", dag_source({"keep": ["t"]}))
    new = write(folder, "a_new.py", dag_source({"renamed": ["t2"], "moving": ["t2"]}))
    report = processor.scan()

    assert report.errors == {}
    assert sql_store.list_import_errors() == []
    for dag_id in ("renamed", "moving"):
        row = stored(sql_store, dag_id)
        assert row.is_active, dag_id
        assert row.fileloc == new
        assert task_ids(sql_store, dag_id) == {"t2"}
    assert stored(sql_store, "keep").is_active
    files = sql_store.get_dag_files()
    assert sorted(files[new].dag_ids) == ["moving", "renamed"]
    assert files[keeper].dag_ids == ["keep"]


# -- the command and the loop -------------------------------------------------------------------


def test_dag_processor_once_parses_the_folder_and_prints_a_summary(
    sql_store: SqlStore, db_url: str, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = write(folder, "good.py", dag_source({"from_cli": ["t"]}))
    broken = write(folder, "broken.py", "from headwater import DAG\nraise ValueError('nope')\n")
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)

    result = invoke("dag-processor", "--once", "--quiet")

    assert result.exit_code == 0, result.output
    assert "Parsed 2 file(s), 1 with import errors; 0 deleted." in result.stdout
    assert stored(sql_store, "from_cli").fileloc == good
    assert list(errors_by_file(sql_store)) == [broken]


def test_dag_processor_refuses_a_database_that_is_not_migrated(
    tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    write(folder, "good.py", dag_source({"never_stored": ["t"]}))
    (tmp_path / "fresh").mkdir()
    sqlite3.connect(tmp_path / "fresh" / "hw.db").close()  # a database file, not migrated
    (tmp_path / "fresh" / "hw.db").chmod(0o600)  # as headwater makes it: no warning
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh' / 'hw.db'}")

    result = invoke("dag-processor", "--once", "--quiet")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "Error: the database is not initialised: run `headwater db migrate`"
    ]


def test_the_processor_loop_stops_when_asked_after_a_scan(
    sql_store: SqlStore, folder: Path, processor: DagFolderProcessor
) -> None:
    write(folder, "good.py", dag_source({"looped": ["t"]}))
    clock = FakeClock()

    def stop() -> bool:
        return bool(sql_store.get_dag_files())  # true once the first scan stored the file

    run_processor_loop(processor, stop, interval_s=3600.0, clock=clock)

    assert stored(sql_store, "looped").is_active
    assert sum(clock.slept) < 3600.0, "the loop waited for the next scan before stopping"


def test_the_processor_loop_logs_a_failed_scan_and_scans_again(
    processor: DagFolderProcessor,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    def scan() -> ScanReport:
        calls.append(len(calls))
        if len(calls) == 1:
            raise ConnectionError("the database went away")
        return ScanReport(parsed=["/x.py"], errors={"/x.py": 2}, new_errors={"/x.py": 2})

    monkeypatch.setattr(processor, "scan", scan)
    clock = FakeClock()

    with caplog.at_level(logging.WARNING, logger="headwater"):
        run_processor_loop(processor, lambda: len(calls) >= 2, interval_s=5.0, clock=clock)

    assert len(calls) == 2
    assert 4.0 < sum(clock.slept) <= 5.0, "the loop did not wait for the interval"
    messages = [r.getMessage() for r in caplog.records]
    assert any("failed" in m and str(processor.folder) in m for m in messages)
    assert "/x.py: 2 import error(s); see `headwater dags list-import-errors`" in messages


def test_a_broken_file_is_reported_once_per_change_of_its_errors(
    sql_store: SqlStore, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    processor = DagFolderProcessor(sql_store, folder, reparse_interval_s=1.0, clock=clock)
    broken = write(folder, "broken.py", "from headwater import DAG\nraise ValueError('first')\n")
    scans: list[ScanReport] = []
    real_scan = processor.scan

    def scan() -> ScanReport:
        if len(scans) == 3:  # the error changes: reported again
            write(folder, "broken.py", "from headwater import DAG\nraise ValueError('second')\n")
        if len(scans) == 5:  # fixed, then broken as before: reported again
            write(folder, "broken.py", dag_source({"fixed": ["t"]}))
        if len(scans) == 6:
            write(folder, "broken.py", "from headwater import DAG\nraise ValueError('second')\n")
        scans.append(real_scan())
        return scans[-1]

    processor.scan = scan  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="headwater"):
        run_processor_loop(processor, lambda: len(scans) >= 8, interval_s=2.0, clock=clock)

    assert [report.parsed for report in scans] == [[broken]] * 8  # imported at every scan
    warned = [r.getMessage() for r in caplog.records if "import error(s)" in r.getMessage()]
    assert warned == [f"{broken}: 1 import error(s); see `headwater dags list-import-errors`"] * 3


def test_the_loop_paces_scans_by_its_own_clock_however_long_a_scan_takes(
    sql_store: SqlStore, folder: Path
) -> None:
    """A scan that takes longer in real time than the interval (a loaded machine) must not
    shorten the wait on the loop's clock: a test's fake clock is the only pace."""
    clock = FakeClock()
    processor = DagFolderProcessor(sql_store, folder, clock=clock)
    seen: list[float] = []
    start = clock.now()

    def slow_scan() -> ScanReport:
        seen.append((clock.now() - start).total_seconds())
        time.sleep(0.3)  # real time only: longer than the interval below
        return ScanReport()

    processor.scan = slow_scan  # type: ignore[method-assign]
    run_processor_loop(processor, lambda: len(seen) >= 3, interval_s=0.2, clock=clock)
    assert seen == pytest.approx([0.0, 0.2, 0.4])
