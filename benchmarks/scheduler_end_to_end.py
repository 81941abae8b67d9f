"""How fast does a run go through ``headwater scheduler``? No-op tasks, end to end, on SQLite
(or PostgreSQL with ``--postgres``).

For each point (a shape, a kind of task, a parallelism) it makes a fresh ``HEADWATER_HOME``
in the work folder (``--tmp``; ``~/.cache/headwater-benchmarks`` by default) with one DAG
file, migrates its SQLite database (WAL, every state change committed as usual) with
``open_store(settings, migrate=True)``, stores the DAG with one
``DagFolderProcessor.scan()``, and starts ``python -m headwater scheduler --quiet`` as a
real process (local executor, ``HEADWATER__SCHEDULER__PARALLELISM`` workers, the default
loop interval, its DAG processor child unless ``--no-dag-processor``). A second after the
scheduler's first pass, plus a random part of its loop interval (so that the wait for the
next pass is sampled, not always the same), it triggers a run (as
``tests/scheduler/scheduler_harness.py`` does: ``new_dag_run`` + ``DagRunEngine.create``),
polls the database until the run has ended, and stops the scheduler with SIGTERM. The DAG
sets ``max_active_tasks`` to ``max(16, parallelism)``, so that the parallelism is the limit.

The shapes: a **fan-out** (``root >> [t1 ... t999]``, 1,000 tasks) and a **chain**
(``t0 >> t1 >> ... >> t199``, 200 tasks); the kinds (``--kinds``): **empty**
(``EmptyOperator``) and **task** (a ``@task`` returning None).

From the database (``dag_runs``, ``task_instances``, ``task_attempts``) it computes:

* **total**: from the trigger (the moment the run and its task instances start being
  written, in one transaction: **create run**) to the run's ``end_date``; **tasks/s**
  over that, and over the **execution** window, from the first attempt's start to the run's end;
* **first task**: from the trigger to the first attempt's ``start_date``. A new run waits
  for the scheduler's next full pass (``scheduler.loop_interval_s``, 1 s by default), so
  expect anything between 0 and that interval; it is split into the **wait for the pass**
  (trigger to the run's ``start_date``, which that pass sets) and **pass -> first task**;
* **dependency gap**, for every task with an upstream: its attempt's ``start_date`` minus
  the latest ``end_date`` of its upstream attempts (median, p95, max). In the fan-out this
  mostly measures the queue: 999 tasks wait for ``parallelism`` workers;
* **ready gap**: the same, but counted from when the task was ready *and* a worker was
  free (the later of the upstream's end and the end that freed a worker slot, taking the
  slots in the order they were freed). In a chain it equals the dependency gap;
* **attempt**: each attempt's ``end_date - start_date``. Both dates come from the
  scheduler's clock: the start when the executor hands the attempt to an idle worker
  (``prepare_attempt``, before RUNNING is committed and the payload sent), the end when the
  scheduler applies the outcome (``apply_outcomes``, before its commit). For a no-op task it
  is the worker's overhead plus the round trip; the gaps above are the scheduler's own time
  between attempts;
* CPU seconds of the scheduler and of its children (fork server, workers, DAG processor)
  during the run, per task, and the share of the machine's CPUs that other processes used
  meanwhile (other tenants: noise), from ``/proc`` (Linux). Before each run it waits (up to
  ``--idle-wait`` seconds) until the machine is less than ``--idle-below`` % busy.

It repeats every point ``--repeat`` times (3 by default, round-robin over the points, after
one warm-up run that is thrown away) and reports medians, then a verdict against the issue's
targets. At the start and at the end it times creating a task log folder + file in the work
folder (the file-system probe), to show how much of the per-task figures the disk may be.
``--profile`` instead runs one point in this process under cProfile (``build_scheduler`` +
``scheduler.run``, local executor) and prints the top functions by cumulative time, per task.

A benchmark, not a test: it checks only that every run succeeded. It needs headwater
installed in the interpreter that runs it (it uses it to migrate, load and trigger).

    .venv/bin/python benchmarks/scheduler_end_to_end.py
    .venv/bin/python benchmarks/scheduler_end_to_end.py --parallelism 2,4,8 --json > out.json
    .venv/bin/python benchmarks/scheduler_end_to_end.py --shapes chain --kinds empty --repeat 5
    .venv/bin/python benchmarks/scheduler_end_to_end.py --profile --shapes fanout --kinds task
    .venv/bin/python benchmarks/scheduler_end_to_end.py --from-json out.json   # tables again
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _common import (
    add_shape_and_kind_options,
    add_work_root_option,
    clean_env,
    command_line,
    create_database,
    dag_file_text,
    drop_database,
    fs_probe_end,
    fs_probe_line,
    fs_probe_start,
    loadavg,
    machine_info,
    parse_list,
    print_result,
    print_table,
    usable_cpus,
    work_folder,
)

if TYPE_CHECKING:
    from headwater.engine.records import DagRun
    from headwater.settings import Settings
    from headwater.store.sql import SqlStore

SHAPES = ("fanout", "chain")
DEFAULT_SIZES = {"fanout": 1000, "chain": 200}

# The targets, checked in the verdict section.
TARGET_MEDIAN_GAP_S = 0.020
TARGET_P95_GAP_S = 0.100
TARGET_TASKS_PER_S = 500.0

# -- small helpers ---------------------------------------------------------------------------


def parse_ints(text: str) -> list[int]:
    values = [int(item) for item in parse_list(text)]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("expected positive integers, comma separated")
    return values


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile, linear between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"median": float("nan"), "p95": float("nan"), "max": float("nan")}
    return {"median": statistics.median(values), "p95": quantile(values, 0.95), "max": max(values)}


def _clock_ticks() -> int:
    try:
        return os.sysconf("SC_CLK_TCK")
    except (AttributeError, ValueError, OSError):
        return 100


def machine_busy_cpu() -> float | None:
    """CPU seconds the whole machine spent busy so far (all CPUs, steal included)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / _clock_ticks()


def wait_until_idle(threshold: float, max_wait_s: float) -> float | None:
    """Wait until the machine's CPUs were less than ``threshold`` busy over one second (other
    tenants of a shared machine), at most ``max_wait_s``; returns the last busy share."""
    deadline = time.monotonic() + max_wait_s
    share = None
    while True:
        before, began = machine_busy_cpu(), time.perf_counter()
        time.sleep(1.0)
        after = machine_busy_cpu()
        if before is None or after is None:
            return None
        share = (after - before) / ((time.perf_counter() - began) * usable_cpus())
        if share < threshold or time.monotonic() >= deadline:
            return share


def process_tree_cpu(root_pid: int) -> tuple[float, float] | None:
    """CPU seconds (user + system) of ``root_pid`` itself, and of all its descendants that are
    alive now (the fork server, the workers, the DAG processor). None without ``/proc``."""
    stats: dict[int, tuple[int, float]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    tick = _clock_ticks()
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:
            continue
        # Fields after "(comm)": state ppid ... utime(12th) stime(13th), counted from 1.
        stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    if root_pid not in stats:
        return None
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    others = 0.0
    pending = list(children.get(root_pid, []))
    while pending:
        pid = pending.pop()
        others += stats[pid][1]
        pending.extend(children.get(pid, []))
    return stats[root_pid][1], others


# -- one run through a real scheduler process -------------------------------------------------


class Point:
    """One configuration: a DAG file in a fresh home, and the scheduler's environment."""

    def __init__(self, shape: str, kind: str, n: int, parallelism: int) -> None:
        self.shape, self.kind, self.n, self.parallelism = shape, kind, n, parallelism
        self.dag_id = f"bench_{shape}_{kind}_{n}"
        self.extra_env: dict[str, str] = {}
        """More of the scheduler's environment (settings as ``HEADWATER__SECTION__KEY``),
        for the next homes prepared: what ``operations_overhead.py`` turns on."""
        self.extra_commands: list[list[str]] = []
        """Processes started beside the scheduler with its environment, before it (Celery
        workers, a second scheduler: ``scale_out.py``), stopped with SIGTERM after the run;
        their CPU counts with the scheduler's children."""
        self.ready: Callable[[dict[str, str]], bool] | None = None
        """With the scheduler's environment: whether the extra processes are ready (polled
        after the scheduler's first pass, before the trigger)."""

    @property
    def label(self) -> tuple[str, str, int, int]:
        return (self.shape, self.kind, self.n, self.parallelism)

    def prepare_home(
        self, work: Path, args: argparse.Namespace
    ) -> tuple[Path, dict[str, str], Settings, SqlStore]:
        """A fresh home with the DAG file, a migrated database holding the DAG: the home, the
        scheduler's environment, its settings and an open store."""
        from headwater.db.opening import open_store
        from headwater.scheduler.service import build_processor
        from headwater.settings import load_settings

        home = Path(tempfile.mkdtemp(prefix="home-", dir=work))
        dags = home / "dags"
        dags.mkdir()
        (dags / f"{self.dag_id}.py").write_text(
            dag_file_text(
                self.dag_id,
                self.n,
                self.kind,
                self.shape,
                schedule=None,
                max_active_tasks=max(16, self.parallelism),
            )
        )
        database_url = (
            create_database(args.postgres, "headwater_bench")
            if args.postgres
            else f"sqlite:///{home / 'headwater.db'}"
        )
        env = clean_env(home) | {
            "HEADWATER_DATABASE_URL": database_url,
            "HEADWATER_DAGS_FOLDER": str(dags),
            "HEADWATER__SCHEDULER__PARALLELISM": str(self.parallelism),
        }
        if args.loop_interval is not None:
            env["HEADWATER__SCHEDULER__LOOP_INTERVAL_S"] = str(args.loop_interval)
        if args.queued_ahead is not None:
            env["HEADWATER__SCHEDULER__QUEUED_AHEAD"] = str(args.queued_ahead)
        env |= self.extra_env
        settings = load_settings(env)
        store = open_store(settings, migrate=True)
        report = build_processor(settings, store).scan()
        if report.errors:
            sys.exit(f"{self.dag_id}: import errors: {store.list_import_errors()}")
        return home, env, settings, store


def trigger(settings: Settings, store: SqlStore, dag_id: str) -> tuple[DagRun, datetime, float]:
    """Create a run the way the scheduler tests do; returns it, when the trigger began (before
    anything is written), and how long creating it took (one transaction with every task
    instance)."""
    from headwater.dag_processing.serialized_dag import deserialize_dag
    from headwater.engine.dagrun import DagRunEngine
    from headwater.engine.run_factory import new_dag_run
    from headwater.engine.xcoms import XComs
    from headwater.xcom_serializers import load_serializer

    row = store.get_dag(dag_id)
    if row is None or row.serialized is None:
        sys.exit(f"DAG {dag_id} is not in the database")
    dag = deserialize_dag(row.serialized)
    xcoms = XComs(store, load_serializer(settings.xcom.serializer), settings.xcom.max_size_bytes)
    run = new_dag_run(dag, logical_date=datetime.now(UTC))
    triggered = datetime.now(UTC)
    began = time.perf_counter()
    DagRunEngine.create(dag, store, xcoms, run)
    return run, triggered, time.perf_counter() - began


def wait_for(
    condition: Callable[[], bool],
    what: str,
    timeout_s: float,
    proc: subprocess.Popen,
    log: Path,
    every_s: float = 0.02,
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            sys.exit(f"the scheduler exited ({proc.returncode}) before {what}:\n{tail(log)}")
        time.sleep(every_s)
    proc.kill()
    sys.exit(f"timed out after {timeout_s:.0f} s waiting for {what}:\n{tail(log)}")


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def run_point(
    point: Point,
    work: Path,
    args: argparse.Namespace,
    phase: random.Random,
    before_stop: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Start a scheduler, trigger one run, wait for its end, stop the scheduler, measure.

    The trigger comes ``--settle`` seconds after the scheduler's first pass, plus a random
    part of its loop interval, so that the wait for the pass that starts the run (the "first
    task" figure) is sampled over the loop's phase rather than always the same.
    ``before_stop`` is called once the run has ended, while the scheduler still runs.
    """
    idle_share = wait_until_idle(args.idle_below / 100, args.idle_wait) if args.idle_wait else None
    home, env, settings, store = point.prepare_home(work, args)
    log = home / "scheduler.log"
    extras = _start_extra_processes(point, home, env)
    cmd = [sys.executable, "-m", "headwater", "scheduler", "--quiet"]
    if not args.dag_processor:
        cmd.append("--no-dag-processor")
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:

        def first_pass_done() -> bool:
            jobs = [j for j in store.list_jobs("scheduler") if j.pid == proc.pid]
            return bool(jobs) and jobs[-1].heartbeat_at > jobs[-1].started_at

        wait_for(first_pass_done, "its first pass", 60, proc, log)
        if args.dag_processor:
            # The scheduler starts its DAG processor child at its first pass: an interpreter
            # importing headwater (about a second of CPU) that must not overlap the run.
            def processor_started() -> bool:
                return any(j.ended_at is None for j in store.list_jobs("dag_processor"))

            wait_for(processor_started, "its DAG processor", 60, proc, log)
        if point.ready is not None:
            ready = point.ready
            wait_for(lambda: ready(env), "the extra processes", 60, proc, log, every_s=0.2)
        # The settle time lets the workers and the DAG processor finish starting.
        time.sleep(args.settle + phase.uniform(0, settings.scheduler.loop_interval_s))
        load_before = loadavg()
        cpu_before = process_tree_cpu(proc.pid)
        extras_before = _extras_cpu(extras)
        busy_before, own_before, wall_before = (
            machine_busy_cpu(),
            time.process_time(),
            time.perf_counter(),
        )
        run, triggered, create_s = trigger(settings, store, point.dag_id)

        def ended() -> bool:
            current = store.get_dag_run(point.dag_id, run.run_id)
            return current is not None and current.state.value in ("success", "failed")

        # Polling is light (the end time comes from the database, not from here).
        wait_for(ended, "the run to end", args.timeout, proc, log, every_s=0.05)
        cpu_after = process_tree_cpu(proc.pid)
        extras_after = _extras_cpu(extras)
        busy_after, own_after, wall_after = (
            machine_busy_cpu(),
            time.process_time(),
            time.perf_counter(),
        )
        if before_stop is not None:
            before_stop()
    finally:
        for process in [proc, *extras]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [proc, *extras]:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    if proc.returncode != 0:
        sys.exit(f"the scheduler exited {proc.returncode} after SIGTERM:\n{tail(log)}")
    try:
        result = measure(point, store, run.run_id, triggered)
    finally:
        store.close()
        if args.postgres:
            drop_database(args.postgres, settings.database_url)
    result["create_run_s"] = create_s
    result["busy_share_before"] = idle_share
    result["loadavg_before"] = load_before
    if cpu_before is not None and cpu_after is not None:
        result["scheduler_cpu_s"] = cpu_after[0] - cpu_before[0]
        # Workers and the fork server live on; the DAG processor too. None exits mid-run.
        result["other_cpu_s"] = cpu_after[1] - cpu_before[1] + extras_after - extras_before
        result["own_cpu_s"] = own_after - own_before  # this process (its threads' servers)
        if busy_before is not None and busy_after is not None:
            # What the rest of the machine used meanwhile: other tenants' noise.
            ours = result["scheduler_cpu_s"] + result["other_cpu_s"] + (own_after - own_before)
            capacity = (wall_after - wall_before) * usable_cpus()
            result["foreign_cpu_share"] = max(busy_after - busy_before - ours, 0.0) / capacity
    return result


def _start_extra_processes(point: Point, home: Path, env: dict[str, str]) -> list[subprocess.Popen]:
    """Start ``point.extra_commands`` (each logs to ``extra-N.log`` in the home)."""
    started = []
    for number, command in enumerate(point.extra_commands):
        with open(home / f"extra-{number}.log", "wb") as err:
            started.append(
                subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
            )
    return started


def _extras_cpu(extras: list[subprocess.Popen]) -> float:
    """CPU seconds of the extra processes and their children so far."""
    total = 0.0
    for process in extras:
        cpu = process_tree_cpu(process.pid)
        if cpu is not None:
            total += cpu[0] + cpu[1]
    return total


def measure(point: Point, store: SqlStore, run_id: str, triggered: datetime) -> dict[str, Any]:
    """The figures of one run, from the database alone (and the trigger time)."""
    from headwater.dag_processing.serialized_dag import deserialize_dag

    run = store.get_dag_run(point.dag_id, run_id)
    tis = store.get_task_instances(point.dag_id, run_id)
    attempts = store.get_attempts(point.dag_id, run_id)
    row = store.get_dag(point.dag_id)
    assert run is not None
    assert row is not None
    assert row.serialized is not None
    bad = sorted({ti.state.value for ti in tis} - {"success"})
    if run.state.value != "success" or bad:
        sys.exit(f"run {run_id} of {point.dag_id} ended {run.state.value} (tasks: {bad})")
    if len(tis) != point.n or len(attempts) != point.n:
        sys.exit(f"expected {point.n} task instances and attempts, got {len(tis)}, {len(attempts)}")
    assert run.start_date is not None
    assert run.end_date is not None
    dag = deserialize_dag(row.serialized)
    start = {a.task_id: a.start_date.timestamp() for a in attempts}
    end = {a.task_id: a.end_date.timestamp() for a in attempts if a.end_date is not None}
    t0 = triggered.timestamp()
    run_start, run_end = run.start_date.timestamp(), run.end_date.timestamp()
    first_start = min(start.values())

    dependency_gaps: list[float] = []
    ready_at: dict[str, float] = {}
    for task_id, task in dag.task_dict.items():
        ups = task.upstream_task_ids
        if ups:
            ready_at[task_id] = max(end[u] for u in ups)
            dependency_gaps.append(start[task_id] - ready_at[task_id])
        else:
            ready_at[task_id] = t0

    # Ready gap: a task waits for its upstream and for a free worker slot. Slots are handed
    # out in the order they were freed (FIFO); all are free at the trigger.
    slots: deque[float] = deque([t0] * point.parallelism)
    events = [(end[t], 0, t) for t in end] + [(start[t], 1, t) for t in start]
    events.sort()
    ready_gaps: list[float] = []
    for _, is_start, task_id in events:
        if not is_start:
            slots.append(end[task_id])
            continue
        free = slots.popleft() if slots else start[task_id]
        if dag.task_dict[task_id].upstream_task_ids:
            ready_gaps.append(start[task_id] - max(ready_at[task_id], free))

    total = run_end - t0
    execution = run_end - first_start
    return {
        "total_s": total,
        "tasks_per_s": point.n / total,
        "first_task_s": first_start - t0,
        "run_start_s": run_start - t0,
        "pass_to_first_task_s": first_start - run_start,
        "execution_s": execution,
        "execution_tasks_per_s": point.n / execution if execution > 0 else float("inf"),
        "end_to_run_end_s": run_end - max(end.values()),
        "dependency_gap_s": summary(dependency_gaps),
        "ready_gap_s": summary(ready_gaps),
        "attempt_s": summary([end[t] - start[t] for t in start]),
    }


# -- aggregation and report --------------------------------------------------------------------

SCALARS = (
    "total_s",
    "tasks_per_s",
    "first_task_s",
    "run_start_s",
    "pass_to_first_task_s",
    "execution_s",
    "execution_tasks_per_s",
    "end_to_run_end_s",
    "create_run_s",
    "scheduler_cpu_s",
    "other_cpu_s",
    "foreign_cpu_share",
)
SUMMARIES = ("dependency_gap_s", "ready_gap_s", "attempt_s")


def aggregate(point: Point, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over the repeats (the max of the maxima)."""
    row: dict[str, Any] = {
        "shape": point.shape,
        "kind": point.kind,
        "n": point.n,
        "parallelism": point.parallelism,
        "repeats": len(runs),
    }
    for name in SCALARS:
        values = [r[name] for r in runs if name in r]
        if values:
            row[name] = statistics.median(values)
    for name in SUMMARIES:
        row[name] = {
            "median": statistics.median(r[name]["median"] for r in runs),
            "p95": statistics.median(r[name]["p95"] for r in runs),
            "max": max(r[name]["max"] for r in runs),
        }
    row["runs"] = runs
    return row


def verdicts(rows: list[dict[str, Any]], nproc: int) -> list[dict[str, Any]]:
    """Per parallelism, the worst shape/kind against each target.

    The gap targets use the dependency gap of the chains and the ready gap of the fan-outs
    (whose dependency gap is mostly the queue for a worker). The throughput target uses the
    fan-outs' execution window (first attempt's start to the run's end): a chain runs one
    task at a time whatever the parallelism.
    """
    out = []
    for parallelism in sorted({r["parallelism"] for r in rows}):
        group = [r for r in rows if r["parallelism"] == parallelism]

        def gap(row: dict[str, Any], stat: str) -> float:
            key = "dependency_gap_s" if row["shape"] == "chain" else "ready_gap_s"
            return row[key][stat]

        def where(row: dict[str, Any]) -> str:
            return f"{row['shape']}/{row['kind']}, parallelism {row['parallelism']}"

        for stat, limit in (("median", TARGET_MEDIAN_GAP_S), ("p95", TARGET_P95_GAP_S)):
            worst = max(group, key=lambda r: gap(r, stat))
            out.append(
                {
                    "target": f"{stat} gap upstream end -> task start < {limit * 1000:g} ms",
                    "measured": gap(worst, stat),
                    "limit": limit,
                    "met": gap(worst, stat) < limit,
                    "unit": "s",
                    "where": where(worst),
                }
            )
        fanouts = [r for r in group if r["shape"] == "fanout"]
        if fanouts:
            worst = min(fanouts, key=lambda r: r["execution_tasks_per_s"])
            out.append(
                {
                    "target": f"> {TARGET_TASKS_PER_S:g} no-op tasks/s on 2 cores "
                    f"(this machine: {nproc}), fan-out, first start -> run end",
                    "measured": worst["execution_tasks_per_s"],
                    "limit": TARGET_TASKS_PER_S,
                    "met": worst["execution_tasks_per_s"] > TARGET_TASKS_PER_S,
                    "unit": "/s",
                    "where": where(worst),
                }
            )
    return out


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}" if seconds < 10 else f"{seconds * 1000:.0f}"


def _or_default(value: object) -> str:
    return "default" if value is None else str(value)


def report(result: dict[str, Any]) -> None:
    m = result["machine"]
    print(
        f"headwater {result['headwater_version']} | python {m['python']} | {m['nproc']} CPUs "
        f"({m['cpu']}) | {m['platform']} | {m['date']} | load at start {m['loadavg_at_start']}"
    )
    print(
        f"medians of {result['repeat']} runs (after one warm-up run); times in ms; homes under "
        f"{result['tmp']}; loop interval {result['loop_interval'] or 'default'}; "
        f"queued ahead {_or_default(result.get('queued_ahead'))}; "
        f"DAG processor {'on' if result['dag_processor'] else 'off'}; "
        f"database {result.get('database', 'SQLite')}"
    )
    if "fs_probe" in result:  # not in results saved before the probe was added
        print(fs_probe_line(result["fs_probe"]))
    rows = result["rows"]

    def point(r: dict[str, Any]) -> list[str]:
        return [f"{r['shape']}/{r['kind']}", str(r["n"]), str(r["parallelism"])]

    print_table(
        "Whole run: trigger -> run end; first task: trigger -> first attempt start = wait for the "
        "pass that starts the run + pass -> first; execution: first attempt start -> run end",
        "shape/kind|N|par|total ms|tasks/s|first task ms|wait for pass ms|pass->first ms|"
        "exec ms|exec tasks/s",
        [
            [
                *point(r),
                ms(r["total_s"]),
                f"{r['tasks_per_s']:.0f}",
                ms(r["first_task_s"]),
                ms(r["run_start_s"]),
                ms(r["pass_to_first_task_s"]),
                ms(r["execution_s"]),
                f"{r['execution_tasks_per_s']:.0f}",
            ]
            for r in rows
        ],
    )
    print_table(
        "Gaps (ms): dependency = upstream attempt end -> task attempt start; ready = from the "
        "later of that and a free worker",
        "shape/kind|N|par|dep med|dep p95|dep max|ready med|ready p95|ready max|attempt med|"
        "attempt p95",
        [
            [
                *point(r),
                *(ms(r["dependency_gap_s"][s]) for s in ("median", "p95", "max")),
                *(ms(r["ready_gap_s"][s]) for s in ("median", "p95", "max")),
                ms(r["attempt_s"]["median"]),
                ms(r["attempt_s"]["p95"]),
            ]
            for r in rows
        ],
    )
    if any("scheduler_cpu_s" in r for r in rows):
        print_table(
            "CPU during the run (ms per task): the scheduler process, and its children "
            "(fork server, workers, DAG processor); others: the share of the machine's CPUs "
            "that other processes used meanwhile (noise); the run's creation (trigger)",
            "shape/kind|N|par|scheduler|children|others %|create run ms",
            [
                [
                    *point(r),
                    ms(r.get("scheduler_cpu_s", float("nan")) / r["n"]),
                    ms(r.get("other_cpu_s", float("nan")) / r["n"]),
                    f"{r['foreign_cpu_share'] * 100:.0f}" if "foreign_cpu_share" in r else "-",
                    ms(r["create_run_s"]),
                ]
                for r in rows
            ],
        )
    print_table(
        "Targets (from the issue)",
        "target|measured|limit|met|worst at",
        [
            [
                v["target"],
                ms(v["measured"]) + " ms" if v["unit"] == "s" else f"{v['measured']:.0f}/s",
                ms(v["limit"]) + " ms" if v["unit"] == "s" else f"{v['limit']:.0f}/s",
                "yes" if v["met"] else "NO",
                v["where"],
            ]
            for v in result["verdicts"]
        ],
    )


# -- cProfile of the scheduler in this process ---------------------------------------------------


def profile_point(point: Point, work: Path, args: argparse.Namespace) -> None:
    """Run one point with the scheduler in this process (local executor) under cProfile."""
    import cProfile
    import io
    import pstats
    import threading

    from headwater.scheduler.service import build_scheduler

    _, env, settings, store = point.prepare_home(work, args)
    # The workers' fork server starts from this process and reads the settings from its
    # environment: give it the scheduler's.
    saved_env = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        if args.profile_executor != "local":
            from dataclasses import replace

            settings = replace(
                settings, scheduler=replace(settings.scheduler, executor=args.profile_executor)
            )
        scheduler = build_scheduler(settings, store=store)
        done = threading.Event()
        scheduler.on_run_finished = lambda run: done.set()
        # The run is queued before the scheduler starts: its first pass starts it.
        run, triggered, _ = trigger(settings, store, point.dag_id)
        profiler = cProfile.Profile()
        began = time.perf_counter()
        cpu_began = time.process_time()
        profiler.enable()
        scheduler.run(done.is_set)
        profiler.disable()
        wall = time.perf_counter() - began
        cpu = time.process_time() - cpu_began
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
    figures = measure(point, store, run.run_id, triggered)
    store.close()
    if args.postgres:
        drop_database(args.postgres, settings.database_url)
    print(
        f"{point.shape}/{point.kind}, {point.n} tasks, parallelism {point.parallelism}, "
        f"executor {args.profile_executor}: scheduler.run took {wall * 1000:.0f} ms wall, "
        f"{cpu * 1000:.0f} ms CPU in this process ({cpu * 1000 / point.n:.2f} ms/task) under "
        f"cProfile; dependency gap median {ms(figures['dependency_gap_s']['median'])} ms, "
        f"ready gap median {ms(figures['ready_gap_s']['median'])} ms, attempt median "
        f"{ms(figures['attempt_s']['median'])} ms (all slowed by the profiler)"
    )
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats(args.profile_sort).print_stats(args.profile_top)
    print(stream.getvalue())
    print(f"divide cumulative seconds by {point.n} for seconds per task")
    if args.profile_out:
        stats.dump_stats(args.profile_out)
        print(f"profile written to {args.profile_out} (python -m pstats {args.profile_out})")


# -- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_shape_and_kind_options(parser, SHAPES)
    parser.add_argument("--fanout-size", type=int, default=DEFAULT_SIZES["fanout"], help="1000")
    parser.add_argument("--chain-size", type=int, default=DEFAULT_SIZES["chain"], help="200")
    parser.add_argument(
        "--parallelism",
        type=parse_ints,
        default=[usable_cpus()],
        help=f"worker processes (HEADWATER__SCHEDULER__PARALLELISM), a comma list; default: "
        f"the number of CPUs ({usable_cpus()}). Try 2,4,8",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per point (median); 3")
    parser.add_argument(
        "--loop-interval",
        type=float,
        default=None,
        help="HEADWATER__SCHEDULER__LOOP_INTERVAL_S; default: the scheduler's default (1 s)",
    )
    parser.add_argument(
        "--queued-ahead",
        type=int,
        default=None,
        help="HEADWATER__SCHEDULER__QUEUED_AHEAD; default: the scheduler's default (16)",
    )
    parser.add_argument(
        "--dag-processor",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the scheduler with its DAG processor child (its default); the folder is "
        "processed once before the scheduler starts either way",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=1.0,
        help="seconds between the scheduler's first pass "
        "and the trigger (workers finish starting); 1",
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds a run may take")
    parser.add_argument(
        "--idle-below",
        type=float,
        default=10.0,
        help="before each run, wait until the machine's CPUs are less than this %% busy over "
        "a second (other tenants); 10",
    )
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=60.0,
        help="wait at most this many seconds for that; 0 skips the check; 60",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=None,
        help="run on PostgreSQL instead of SQLite: the URL of a database on the server (e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres); each run gets a fresh "
        "database there, dropped afterwards",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random trigger phases; 0")
    add_work_root_option(parser, "the homes (database, DAG file, task logs)")
    parser.add_argument("--no-warmup", action="store_true", help="skip the warm-up run")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument(
        "--from-json",
        metavar="FILE",
        default=None,
        help="print the tables of a saved --json result",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead: run the first point once with the scheduler in this process under "
        "cProfile and print the top functions",
    )
    parser.add_argument(
        "--profile-executor",
        choices=["local", "in_process"],
        default="local",
        help="with --profile: local (workers are not profiled) or in_process (the attempts "
        "run, and are profiled, in this process)",
    )
    parser.add_argument("--profile-sort", default="cumulative", help="pstats sort key")
    parser.add_argument("--profile-top", type=int, default=40, help="rows of the profile")
    parser.add_argument("--profile-out", default=None, help="also write the raw profile here")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        report(saved)
        print(f"\nbenchmark took {saved['benchmark_wall_s']:.1f} s")
        return

    import headwater

    sizes = {"fanout": args.fanout_size, "chain": args.chain_size}
    points = [
        Point(shape, kind, sizes[shape], parallelism)
        for parallelism in args.parallelism
        for shape in args.shapes
        for kind in args.kinds
    ]
    # The homes are deleted only at the end: deleting trees of log folders slows the runs after.
    with work_folder(args.tmp, "headwater-e2e-") as work:
        if args.profile:
            profile_point(points[0], work, args)
            return
        started = time.perf_counter()
        result: dict[str, Any] = {
            "machine": machine_info(date=datetime.now().astimezone().isoformat(timespec="seconds")),
            "headwater_version": headwater.__version__,
            "command": command_line(),
            "repeat": args.repeat,
            "tmp": str(work.parent),
            "loop_interval": args.loop_interval,
            "queued_ahead": args.queued_ahead,
            "database": "PostgreSQL" if args.postgres else "SQLite",
            "dag_processor": args.dag_processor,
            "fs_probe": fs_probe_start(work),
        }
        progress = not args.json
        phase = random.Random(args.seed)
        if not args.no_warmup:
            if progress:
                print("warm-up run...", file=sys.stderr)
            run_point(points[0], work, args, phase)
        runs: dict[tuple, list[dict[str, Any]]] = {p.label: [] for p in points}
        for round_number in range(1, args.repeat + 1):
            for p in points:
                runs[p.label].append(run_point(p, work, args, phase))
                if progress:
                    last = runs[p.label][-1]
                    print(
                        f"  round {round_number}/{args.repeat} {p.shape}/{p.kind} N={p.n} "
                        f"parallelism {p.parallelism}: {ms(last['total_s'])} ms, "
                        f"{last['execution_tasks_per_s']:.0f} tasks/s (execution), gap median "
                        f"{ms(last['dependency_gap_s']['median'])} ms",
                        file=sys.stderr,
                    )
        fs_probe_end(result["fs_probe"], work)
        result["rows"] = [aggregate(p, runs[p.label]) for p in points]
        result["verdicts"] = verdicts(result["rows"], result["machine"]["nproc"])
        result["machine"]["loadavg_at_end"] = loadavg()
        result["benchmark_wall_s"] = time.perf_counter() - started

    print_result(result, args.json, report)


if __name__ == "__main__":
    main()
