"""From an asset event to the start of the first task of the DAG it triggers, through
``headwater scheduler``, end to end, optionally while 1,000 deferred tasks' triggers wait.

It makes a fresh ``HEADWATER_HOME`` in the work folder (``--tmp``; see README) with three
DAGs, migrates its SQLite database (or a fresh PostgreSQL database with ``--postgres URL``),
stores them with one DAG-folder scan, and starts ``python -m headwater scheduler
--no-dag-processor`` as a real process (local executor, every setting at its default:
``loop_interval_s`` 1 s, ``new_run_check_interval_s`` 0.05 s; ``--check-interval`` sets the
latter, which bounds how long an event from outside waits to be noticed):

* ``asset_consumer``, scheduled on ``bench://asset_latency``: one task whose first act is to
  append ``time.time()`` to a results file;
* ``asset_producer``: one task with that asset as its outlet (``--source outlet``);
* ``asset_waiting``: ``--waiting`` tasks (1,000 by default; 0 leaves it out) that each defer
  to a ``DateTimeTrigger`` an hour ahead. The benchmark waits until they are all deferred
  before it measures: the scheduler then holds 1,000 deferred instances (it looks for fired
  triggers every 20 ms while any is deferred), and a triggerer, where the scheduler starts
  one, holds their triggers.

Then, ``--events`` times (30 by default), one after the other: a random pause (0 to 1 s, so
that the phase of the scheduler's loop is sampled, not always the same), then an event of the
asset, from one of two ``--source`` s (both by default):

* **api**: recorded from outside, by the service function behind ``headwater assets
  create-event`` and ``POST /api/v1/assets/events`` (called in this process: a CLI's start-up
  would be measured otherwise);
* **outlet**: recorded by a successful attempt of ``asset_producer``'s task (a manual run
  the benchmark triggers), in the transaction that records the attempt's outcome.

It waits for the consumer's run to end before the next event, so each event triggers one
run of its own; the first event of each source is a warm-up, not measured. From the event's
``timestamp`` (the clock of the process that recorded it) it reports p50 / p95 / max of:

* **to run created**: the asset-triggered run's logical date (the moment the scheduler
  created it, consuming the event);
* **to attempt start**: the consumer task's attempt ``start_date`` (when the scheduler hands
  it to a worker);
* **to task code**: the task's first line runs in the worker (the issue's "latency from an
  asset event to the start of the task it unblocks"; target p50 under 50 ms).

A benchmark, not a test: it checks only that each event triggered one run, which succeeded.
Needs headwater installed in the interpreter that runs it.

    .venv/bin/python benchmarks/asset_latency.py
    .venv/bin/python benchmarks/asset_latency.py --waiting 0 --events 50 --json
    .venv/bin/python benchmarks/asset_latency.py --postgres postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
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

SOURCES = ("api", "outlet")
ASSET_URI = "bench://asset_latency"
CONSUMER, PRODUCER, WAITING = "asset_consumer", "asset_producer", "asset_waiting"

DAGS_FILE = """
import time
from datetime import UTC, datetime, timedelta

from headwater import DAG, Asset, task
from headwater.authoring.operator import BaseOperator
from headwater.triggers import DateTimeTrigger

ASSET = Asset({uri!r})
RESULTS = {results!r}
START = datetime(2024, 1, 1, tzinfo=UTC)

with DAG({consumer!r}, schedule=[ASSET], start_date=START):

    @task
    def started(triggering_asset_events=None):
        at = time.time()  # first: the moment the task's code starts
        with open(RESULTS, "a") as file:
            file.write(f"{{at!r}}\\n")

    started()

with DAG({producer!r}, schedule=None, start_date=START):

    @task(outlets=[ASSET])
    def produce():
        return None

    produce()


class WaitsAnHour(BaseOperator):
    def execute(self, context):
        self.defer(trigger=DateTimeTrigger(datetime.now(UTC) + timedelta(hours=1)))

    def execute_complete(self, context, event=None):
        return None


if {waiting} > 0:
    with DAG({waiting_dag!r}, schedule=None, start_date=START, max_active_tasks={waiting}):
        for i in range({waiting}):
            WaitsAnHour(task_id=f"w{{i}}")
"""


def run(args: argparse.Namespace, work: Path, database_url: str | None) -> dict[str, Any]:
    from headwater.db.opening import open_store
    from headwater.engine.states import DagRunState, TaskInstanceState
    from headwater.operations import trigger_run
    from headwater.scheduler.service import build_processor
    from headwater.services.assets import AssetEventIn, create_asset_event
    from headwater.services.context import ServiceContext
    from headwater.settings import load_settings
    from headwater.store.assets import AssetEventFilter
    from headwater.store.triggers import WAITING as TRIGGER_WAITING

    home, dags = work / "home", work / "dags"
    dags.mkdir()
    results = work / "results.txt"
    results.touch()
    (dags / "asset_latency_dags.py").write_text(
        DAGS_FILE.format(
            uri=ASSET_URI,
            results=str(results),
            consumer=CONSUMER,
            producer=PRODUCER,
            waiting_dag=WAITING,
            waiting=args.waiting,
        )
    )
    env = clean_env(home) | {"HEADWATER_DAGS_FOLDER": str(dags)}
    if args.check_interval is not None:
        env["HEADWATER__SCHEDULER__NEW_RUN_CHECK_INTERVAL_S"] = str(args.check_interval)
    if database_url:
        env["HEADWATER_DATABASE_URL"] = database_url
    settings = load_settings(env)
    store = open_store(settings, migrate=True)
    if build_processor(settings, store).scan().errors:
        sys.exit(f"import errors: {store.list_import_errors()}")
    ctx = ServiceContext(settings=settings, store=store)
    log = open(work / "scheduler.log", "wb")  # noqa: SIM115 - open for the process's life
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "headwater", "scheduler", "--no-dag-processor"],
        env=env,
        stderr=log,
    )
    try:
        deferred_s = claimed = 0.0
        if args.waiting:
            began = time.monotonic()
            waiting_run = trigger_run(store, WAITING, now=datetime.now(UTC))

            def all_deferred() -> bool:
                states = [ti.state for ti in store.get_task_instances(WAITING, waiting_run.run_id)]
                return states.count(TaskInstanceState.DEFERRED) == args.waiting

            wait_for_processes(
                f"{args.waiting} tasks to defer", all_deferred, 900, [scheduler], poll_s=0.02
            )
            deferred_s = time.monotonic() - began
            time.sleep(2.0)  # a triggerer, if one runs, claims them meanwhile
            held = [t.triggerer_id for t in store.list_triggers([TRIGGER_WAITING])]
            claimed = sum(1 for owner in held if owner is not None)

        samples: dict[str, dict[str, list[float]]] = {}
        for source in args.sources:
            rows = samples.setdefault(source, {"run": [], "attempt": [], "code": []})
            for number in range(-1, args.events):  # -1: a warm-up, not measured
                time.sleep(random.uniform(0.0, settings.scheduler.loop_interval_s))
                known = {r.run_id for r in store.list_dag_runs(CONSUMER)}
                lines_before = len(results.read_text().splitlines())
                if source == "api":
                    body = AssetEventIn(uri=ASSET_URI, extra={"n": number})
                    event_id = create_asset_event(ctx, body, created_by="benchmark").id
                else:
                    trigger_run(store, PRODUCER, now=datetime.now(UTC))

                def consumer_ended(known: set[str] = known) -> bool:
                    new = [r for r in store.list_dag_runs(CONSUMER) if r.run_id not in known]
                    return bool(new) and new[0].state in (DagRunState.SUCCESS, DagRunState.FAILED)

                wait_for_processes(
                    f"the consumer's run after event {number}",
                    consumer_ended,
                    60,
                    [scheduler],
                    poll_s=0.02,
                )
                [new_run] = [r for r in store.list_dag_runs(CONSUMER) if r.run_id not in known]
                if new_run.state is not DagRunState.SUCCESS:
                    sys.exit(f"run {new_run.run_id} of {CONSUMER} ended {new_run.state.value}")
                [event] = store.triggering_asset_events(CONSUMER, new_run.run_id)
                if source == "api" and event.id != event_id:
                    sys.exit(f"run {new_run.run_id} consumed event {event.id}, not {event_id}")
                [attempt] = store.get_attempts(CONSUMER, new_run.run_id, "started")
                [code_at] = results.read_text().splitlines()[lines_before:]
                if number < 0:
                    continue
                at = event.timestamp.timestamp()
                rows["run"].append(new_run.logical_date.timestamp() - at)
                rows["attempt"].append(attempt.start_date.timestamp() - at)
                rows["code"].append(float(code_at) - at)
        events = store.count_asset_events(AssetEventFilter(uri=ASSET_URI))
        still_deferred = (
            [ti.state for ti in store.get_task_instances(WAITING, waiting_run.run_id)].count(
                TaskInstanceState.DEFERRED
            )
            if args.waiting
            else 0
        )
    finally:
        scheduler.send_signal(signal.SIGTERM)
        try:
            scheduler.wait(timeout=60)
        except subprocess.TimeoutExpired:
            scheduler.kill()
        log.close()
        store.close()
    return {
        "waiting": args.waiting,
        "still_deferred_at_the_end": still_deferred,
        "triggers_claimed_by_a_triggerer": int(claimed),
        "seconds_until_all_deferred": round(deferred_s, 1),
        "events_recorded": events,
        "database": "postgresql" if database_url else "sqlite",
        "loop_interval_s": settings.scheduler.loop_interval_s,
        "new_run_check_interval_s": settings.scheduler.new_run_check_interval_s,
        "by_source": {
            source: {
                "events": len(rows["code"]),
                "to_run_created": latency_summary(rows["run"]),
                "to_attempt_start": latency_summary(rows["attempt"]),
                "to_task_code": latency_summary(rows["code"]),
            }
            for source, rows in samples.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=30, help="events per source")
    parser.add_argument(
        "--sources",
        type=lambda text: [s.strip() for s in text.split(",") if s.strip()],
        default=list(SOURCES),
        help="api, outlet or both (api,outlet: the default)",
    )
    parser.add_argument("--waiting", type=int, default=1000, help="tasks deferred meanwhile")
    parser.add_argument(
        "--check-interval",
        type=float,
        default=None,
        help="scheduler.new_run_check_interval_s (default: the setting's default, 0.05)",
    )
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server to use")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_work_root_option(parser, "the HEADWATER_HOME, the DAGs and task logs")
    args = parser.parse_args()
    if args.events < 1 or args.waiting < 0:
        parser.error("--events must be at least 1 and --waiting at least 0")
    if not args.sources or set(args.sources) - set(SOURCES):
        parser.error(f"--sources: choose from {', '.join(SOURCES)}")
    database_url = create_database(args.postgres, "headwater_asset") if args.postgres else None
    try:
        with work_folder(args.tmp, "headwater-asset-") as work:
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
        f"{result['database']}; new_run_check_interval_s {result['new_run_check_interval_s']}; "
        f"{result['waiting']} tasks deferred meanwhile "
        f"({result['triggers_claimed_by_a_triggerer']} triggers held by a triggerer; all "
        f"deferred {result['seconds_until_all_deferred']} s after their run was triggered)"
    )
    rows = []
    for source, figures in result["by_source"].items():
        for name in ("to_run_created", "to_attempt_start", "to_task_code"):
            cells = (f"{figures[name][k]:.1f}" for k in ("p50_ms", "p95_ms", "max_ms"))
            rows.append([f"{source}: {name.replace('_', ' ')}", *cells])
    events = {s: f["events"] for s, f in result["by_source"].items()}
    print_table(f"latency from the asset event ({events} events)", "|p50 ms|p95 ms|max ms", rows)


if __name__ == "__main__":
    main()
