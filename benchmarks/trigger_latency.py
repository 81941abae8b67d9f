"""From a trigger's condition coming true to the start of the task it unblocks, with 1,000
triggers waiting, through ``headwater scheduler`` (and its triggerer), end to end.

It makes a fresh ``HEADWATER_HOME`` in the work folder (``--tmp``; see README) with one DAG
of ``--waiting`` tasks (1,000 by default) and migrates its SQLite database (or a fresh
PostgreSQL database with ``--postgres URL``), stores the DAG with one DAG-folder scan, and
starts ``python -m headwater scheduler --no-dag-processor`` as a real process
(local executor, its triggerer in a thread, every setting at its default). With
``--separate-triggerer`` the scheduler runs ``--no-triggerer`` and ``headwater triggerer``
runs as a process of its own (then nothing wakes the scheduler: it finds fired triggers by
looking every 20 ms while tasks are deferred).

It triggers one run. Every task defers to a ``GoThenMomentTrigger``: all of them wait for a
"go" file; once every task is deferred and every trigger claimed, the benchmark writes the
file with a base time a little ahead, and task ``i < --measured`` fires at ``base + i *
--spacing`` (an ``asyncio.sleep`` until that moment: its condition comes true then), the
others an hour later (they keep waiting all along: the 1,000 waiting triggers). The
resumed task (``execute_complete``) writes ``time.time()`` as its first act. It reports,
for the measured tasks, p50 / p95 / max of:

* **to task code**: moment -> ``execute_complete`` starts in a worker (the issue's
  "latency from a fired trigger to the start of the task it unblocks");
* **to attempt start**: moment -> the resumed attempt's ``start_date`` (the scheduler's
  clock when it hands the attempt to a worker);
* **to fired**: moment -> the triggerer has committed the event (``fire_triggers``): the
  time of its log line ``Trigger N ... fired`` (millisecond resolution), written once the
  transaction committed: the triggerer's part of the latency.

The moments are spread (``--spacing``, 0.25 s) so that each measures one event alone. A
benchmark, not a test: it checks only that each measured task resumed. Needs headwater
installed in the interpreter that runs it.

    .venv/bin/python benchmarks/trigger_latency.py
    .venv/bin/python benchmarks/trigger_latency.py --separate-triggerer --json
    .venv/bin/python benchmarks/trigger_latency.py --postgres postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import (
    add_work_root_option,
    clean_env,
    command_line,
    create_database,
    drop_database,
    latency_summary,
    machine_info,
    print_table,
    wait_for_processes,
    work_folder,
)

DAG_ID = "trigger_latency"

TRIGGERS_MODULE = '''
"""The benchmark's trigger: waits for the go file, then until its moment."""

import asyncio
import json
import os
import time

from headwater.triggers import BaseTrigger, TriggerEvent


class GoThenMomentTrigger(BaseTrigger):
    def __init__(self, go: str, offset_s: float):
        self.go, self.offset_s = go, offset_s

    def serialize(self):
        return ("bench_triggers.GoThenMomentTrigger", {"go": self.go, "offset_s": self.offset_s})

    async def run(self):
        while not os.path.exists(self.go):
            await asyncio.sleep(0.25)
        with open(self.go) as file:
            moment = json.load(file)["base"] + self.offset_s
        await asyncio.sleep(max(moment - time.time(), 0.0))
        yield TriggerEvent({"moment": moment})
'''

DAG_FILE = """
import time
from datetime import UTC, datetime

from bench_triggers import GoThenMomentTrigger

from headwater import DAG
from headwater.authoring.operator import BaseOperator

GO, RESULTS = {go!r}, {results!r}


class Waits(BaseOperator):
    def __init__(self, *, offset_s, **kwargs):
        super().__init__(**kwargs)
        self.offset_s = offset_s

    def execute(self, context):
        self.defer(trigger=GoThenMomentTrigger(GO, self.offset_s))

    def execute_complete(self, context, event):
        started = time.time()
        with open(RESULTS, "a") as file:
            file.write(f"{{self.task_id}} {{event['moment']!r}} {{started!r}}\\n")


with DAG({dag_id!r}, schedule=None, start_date=datetime(2024, 1, 1, tzinfo=UTC),
         max_active_tasks={waiting}):
    for i in range({waiting}):
        Waits(task_id=f"t{{i}}", offset_s=i * {spacing} if i < {measured} else 3600.0)
"""


FIRED_LINE = re.compile(
    r"^\[(?P<at>[^\]]+)\] \{INFO\} Trigger \d+ \(bench_triggers\.GoThenMomentTrigger\) "
    rf"of {DAG_ID}/(?P<task>t\d+) in \S+ fired$"
)


def fired_times(log: str) -> dict[str, float]:
    """When the triggerer logged each task's trigger fired (local time, as logged)."""
    times = {}
    for line in log.splitlines():
        match = FIRED_LINE.match(line)
        if match:
            at = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f")
            times[match["task"]] = at.timestamp()
    return times


def run(args: argparse.Namespace, work: Path, database_url: str | None) -> dict[str, Any]:
    from headwater.db.opening import open_store
    from headwater.engine.states import TaskInstanceState
    from headwater.operations import trigger_run
    from headwater.scheduler.service import build_processor
    from headwater.settings import load_settings
    from headwater.store.triggers import WAITING

    home, dags = work / "home", work / "dags"
    dags.mkdir()
    go, results = work / "go.json", work / "results.txt"
    (dags / "bench_triggers.py").write_text(textwrap.dedent(TRIGGERS_MODULE))
    (dags / "latency_dag.py").write_text(
        DAG_FILE.format(
            go=str(go),
            results=str(results),
            dag_id=DAG_ID,
            waiting=args.waiting,
            measured=args.measured,
            spacing=args.spacing,
        )
    )
    env = clean_env(home) | {"HEADWATER_DAGS_FOLDER": str(dags)}
    if database_url:
        env["HEADWATER_DATABASE_URL"] = database_url
    settings = load_settings(env)
    store = open_store(settings, migrate=True)
    if build_processor(settings, store).scan().errors:
        sys.exit(f"import errors: {store.list_import_errors()}")
    log = open(work / "processes.log", "wb")  # noqa: SIM115 - open for the processes' lives
    command = [sys.executable, "-m", "headwater"]
    scheduler = [*command, "scheduler", "--no-dag-processor"]
    processes = []
    if args.separate_triggerer:
        processes.append(subprocess.Popen([*command, "triggerer"], env=env, stderr=log))
        scheduler.append("--no-triggerer")
    processes.append(subprocess.Popen(scheduler, env=env, stderr=log))
    try:
        run = trigger_run(store, DAG_ID, now=datetime.now(UTC))
        began = time.monotonic()

        def all_deferred() -> bool:
            states = [ti.state for ti in store.get_task_instances(DAG_ID, run.run_id)]
            return states.count(TaskInstanceState.DEFERRED) == args.waiting

        def all_claimed() -> bool:
            held = [t.triggerer_id for t in store.list_triggers([WAITING])]
            return len(held) == args.waiting and None not in held

        wait_for_processes("every task to defer", all_deferred, 600, processes)
        deferred_s = time.monotonic() - began
        wait_for_processes("every trigger to be claimed", all_claimed, 120, processes)
        go.write_text(json.dumps({"base": time.time() + 1.0}))

        def all_resumed() -> bool:
            return results.exists() and len(results.read_text().splitlines()) >= args.measured

        wait_for_processes(
            "the measured tasks to resume",
            all_resumed,
            60 + args.measured * args.spacing,
            processes,
        )
        waiting_now = store.count_waiting_triggers()
        to_code, to_attempt = [], []
        moments: dict[str, float] = {}
        for line in results.read_text().splitlines():
            task_id, moment, started = line.split()
            moments[task_id] = float(moment)
            to_code.append(float(started) - float(moment))
            [attempt] = [
                a for a in store.get_attempts(DAG_ID, run.run_id, task_id) if a.try_number == 2
            ]
            to_attempt.append(attempt.start_date.timestamp() - float(moment))
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
        store.close()
    fired_at = fired_times((work / "processes.log").read_text(errors="replace"))
    to_fired = [fired_at[task] - moments[task] for task in moments if task in fired_at]
    return {
        "waiting": args.waiting,
        "measured": len(to_code),
        "still_waiting_at_the_end": waiting_now,
        "seconds_until_all_deferred": round(deferred_s, 1),
        "triggerer": "separate process" if args.separate_triggerer else "thread of the scheduler",
        "database": "postgresql" if database_url else "sqlite",
        "to_task_code": latency_summary(to_code),
        "to_attempt_start": latency_summary(to_attempt),
        "to_fired": latency_summary(to_fired),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", type=int, default=1000, help="tasks deferred at once")
    parser.add_argument("--measured", type=int, default=40, help="triggers that fire")
    parser.add_argument("--spacing", type=float, default=0.25, help="seconds between firings")
    parser.add_argument("--separate-triggerer", action="store_true")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server to use")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_work_root_option(parser, "the HEADWATER_HOME, the DAG and task logs")
    args = parser.parse_args()
    if not 0 < args.measured <= args.waiting:
        parser.error("--measured must be between 1 and --waiting")
    database_url = create_database(args.postgres, "headwater_trig") if args.postgres else None
    try:
        with work_folder(args.tmp, "headwater-trig-") as work:
            result = run(args, work, database_url)
    finally:
        if database_url:
            drop_database(args.postgres, database_url)
    result = {"command": command_line(), "machine": machine_info(), **result}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(command_line())
    print(
        f"{result['waiting']} triggers waiting ({result['triggerer']}, {result['database']}); "
        f"all deferred {result['seconds_until_all_deferred']} s after the trigger; "
        f"{result['measured']} fired one by one"
    )
    rows = [
        [
            name.replace("_", " "),
            *(f"{result[name][k]:.1f}" for k in ("p50_ms", "p95_ms", "max_ms")),
        ]
        for name in ("to_fired", "to_attempt_start", "to_task_code")
    ]
    print_table("latency from the trigger's moment", "to|p50 ms|p95 ms|max ms", rows)


if __name__ == "__main__":
    main()
