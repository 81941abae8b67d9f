"""What the benchmark scripts share: the generated DAG, the work folder and its file-system
probe, the machine description, option parsing and plain-text tables. Standard library only.

The scripts import it as ``_common``: run as ``python benchmarks/NAME.py``, from any folder,
Python puts the script's folder (this one) first on ``sys.path``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

# -- the generated DAG ---------------------------------------------------------------------------

KINDS = ("empty", "task")
"""The kinds of no-op task: ``EmptyOperator``, or a ``@task`` that returns None."""

DAG_TASKS_CODE = '''\
from datetime import UTC, datetime

from headwater import DAG, task
from headwater.operators import EmptyOperator


@task
def noop():
    return None


def make(kind, task_id):
    """One no-op task: an EmptyOperator ("empty") or the @task above ("task")."""
    if kind == "empty":
        return EmptyOperator(task_id=task_id)
    return noop.override(task_id=task_id)()


def add_tasks(n, kind, shape):
    """n tasks in the DAG being defined: t0 >> t1 >> ... (chain), or root >> [t1 ...] (fanout)."""
    if shape == "chain":
        previous = make(kind, "t0")
        for i in range(1, n):
            current = make(kind, f"t{i}")
            previous >> current
            previous = current
    else:
        root = make(kind, "root")
        root >> [make(kind, f"t{i}") for i in range(1, n)]
'''
"""Python source that defines ``add_tasks(n, kind, shape)``: the body of every benchmark DAG,
in a generated DAG file or built in memory."""


def dag_file_text(dag_id: str, n: int, kind: str, shape: str, **dag_arguments: Any) -> str:
    """The source of a DAG file: ``n`` no-op ``kind`` tasks as a ``shape``, in a DAG that
    starts on 2024-01-01 and takes ``dag_arguments`` too (their ``repr`` as the values)."""
    arguments = [f'"{dag_id}"', "start_date=datetime(2024, 1, 1, tzinfo=UTC)"]
    arguments += [f"{name}={value!r}" for name, value in dag_arguments.items()]
    argument_lines = "".join(f"    {argument},\n" for argument in arguments)
    return (
        f'"""Benchmark DAG for headwater: {n} no-op {kind} tasks as a {shape} (generated)."""\n'
        f"\n{DAG_TASKS_CODE}\n"
        f"\nwith DAG(\n{argument_lines}) as dag:\n"
        f'    add_tasks({n}, "{kind}", "{shape}")\n'
    )


# -- the work folder and its file system --------------------------------------------------------

DEFAULT_WORK_ROOT = Path.home() / ".cache" / "headwater-benchmarks"
"""Under the home folder, like a user's HEADWATER_HOME (``~/.headwater``)."""

FS_PROBE_FOLDERS = 300


def add_work_root_option(parser: argparse.ArgumentParser, holds: str) -> None:
    """The ``--tmp DIR`` option: where the work folder, holding ``holds``, is made."""
    default = "~" / DEFAULT_WORK_ROOT.relative_to(Path.home())
    parser.add_argument(
        "--tmp",
        metavar="DIR",
        default=None,
        help=f"folder for {holds}; default: {default} (made if missing). It is under the home "
        "folder because a user's HEADWATER_HOME is there too (~/.headwater), and because on "
        "some machines the system temp folder (/tmp) is much slower to create files in. Try "
        "/dev/shm (tmpfs) to leave the disk out, or /tmp.",
    )


@contextlib.contextmanager
def work_folder(root: str | None, prefix: str) -> Iterator[Path]:
    """A fresh folder under ``root`` (default: ``DEFAULT_WORK_ROOT``; made if missing), deleted
    with all in it on leaving.

    Nothing in it is deleted before: on ext4 (mounted with "discard"), deleting a tree of log
    folders slows the runs that follow it.
    """
    parent = Path(root).expanduser() if root else DEFAULT_WORK_ROOT
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def clean_env(home: Path) -> dict[str, str]:
    """The current environment without HEADWATER_* variables, with HEADWATER_HOME=home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")}
    env["HEADWATER_HOME"] = str(home)
    return env


def task_log_cost_ms(folder: Path, count: int = FS_PROBE_FOLDERS) -> float:
    """Milliseconds to create one folder with one small file in it, as a task attempt's log
    (``os.mkdir``, then ``os.open`` with ``O_CREAT``, one ``write``, ``close``): the mean over
    ``count`` of them in a fresh subfolder of ``folder``, which is removed afterwards."""
    probe = tempfile.mkdtemp(prefix="fs-probe-", dir=folder)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    line = b"[2024-01-01T00:00:00.000Z] {INFO} Task exited with return value None\n"
    try:
        started = time.perf_counter()
        for i in range(count):
            log_folder = os.path.join(probe, f"task={i}")
            os.mkdir(log_folder)
            fd = os.open(os.path.join(log_folder, "attempt=1.log"), flags, 0o644)
            os.write(fd, line)
            os.close(fd)
        elapsed = time.perf_counter() - started
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return elapsed / count * 1000


def fs_probe_start(work: Path) -> dict[str, Any]:
    """The file-system probe at the start of a benchmark, in its work folder ``work``."""
    return {
        "folder": str(work.parent),
        "count": FS_PROBE_FOLDERS,
        "start_ms": task_log_cost_ms(work),
    }


def fs_probe_end(probe: dict[str, Any], work: Path) -> None:
    """The same probe again, at the end (before the work folder is deleted)."""
    probe["end_ms"] = task_log_cost_ms(work)


def fs_probe_line(probe: dict[str, Any]) -> str:
    """The report's line for the probe."""
    end = f"{probe['end_ms']:.3f}" if "end_ms" in probe else "-"
    return (
        f"file system: creating a task log folder + file costs {probe['start_ms']:.3f} ms "
        f"(start) / {end} ms (end) in {probe['folder']}"
    )


# -- the machine ---------------------------------------------------------------------------------


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` ("" without it)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def machine_info(**extra: Any) -> dict[str, Any]:
    """The machine and this interpreter, with ``extra`` added (or replacing)."""
    return {
        "nproc": usable_cpus(),
        "cpu_count": os.cpu_count(),
        "cpu": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_at_start": loadavg(),
    } | extra


def display_path(path: str) -> str:
    """``path`` relative to the current folder when it lies below it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def command_line() -> str:
    """How this benchmark was started: the interpreter and the arguments."""
    return " ".join([display_path(sys.executable), *sys.argv])


# -- options and tables --------------------------------------------------------------------------


def parse_list(text: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    """A comma list; each item one of ``allowed`` when given."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if allowed is not None:
        bad = [item for item in items if item not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {bad}; choose from {', '.join(allowed)}")
    return items


def add_shape_and_kind_options(parser: argparse.ArgumentParser, shapes: tuple[str, ...]) -> None:
    """``--shapes`` (a comma list of ``shapes``, all by default) and ``--kinds`` (of KINDS)."""
    parser.add_argument(
        "--shapes",
        type=lambda text: parse_list(text, shapes),
        default=list(shapes),
        help=",".join(shapes),
    )
    parser.add_argument(
        "--kinds",
        type=lambda text: parse_list(text, KINDS),
        default=list(KINDS),
        help="empty (EmptyOperator), task (@task returning None); default both",
    )


def print_table(title: str, headers: str | Sequence[str], rows: list[list[str]]) -> None:
    """A plain-text table: the first column left-aligned, the others right-aligned.

    ``headers`` is a list, or one string with the headers separated by ``|``.
    """
    if isinstance(headers, str):
        headers = headers.split("|")
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        aligned = [cells[0].ljust(widths[0])]
        aligned += [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(aligned).rstrip()

    print(f"\n{title}")
    print(line(headers))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))


def create_database(server_url: str, prefix: str) -> str:
    """A fresh, empty database named ``prefix_<random>`` on the PostgreSQL server of
    ``server_url``; returns its URL."""
    import uuid

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, database_url: str) -> None:
    """Drop the database of ``database_url`` made by :func:`create_database`."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = make_url(database_url).database
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()


def quantile(values: list[float], q: float) -> float:
    """The value at rank ``q`` (0..1) of ``values``, nearest rank below."""
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def latency_summary(values: list[float]) -> dict[str, float]:
    """p50, p95 and max of latencies in seconds, in milliseconds."""
    return {
        "p50_ms": statistics.median(values) * 1000,
        "p95_ms": quantile(values, 0.95) * 1000,
        "max_ms": max(values) * 1000,
    }


def wait_for_processes(
    what: str,
    condition: Callable[[], Any],
    timeout_s: float,
    processes: Sequence[subprocess.Popen[bytes]],
    poll_s: float = 0.05,
) -> None:
    """Wait until ``condition()`` holds, every ``poll_s``; exit the benchmark naming
    ``what`` when ``timeout_s`` passes or one of ``processes`` (``python -m headwater
    <command>``) exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            if process.poll() is not None:
                sys.exit(f"{process.args[3]} exited ({process.returncode}) before {what}")
        time.sleep(poll_s)
    sys.exit(f"timed out after {timeout_s:.0f} s waiting for {what}")


def print_result(
    result: dict[str, Any], as_json: bool, report: Callable[[dict[str, Any]], None]
) -> None:
    """A benchmark's result: JSON (``--json``), or its tables and how long it took."""
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        report(result)
        print(f"\nbenchmark took {result['benchmark_wall_s']:.1f} s")
