"""How many transactions and SQL statements does one no-op task cost through the scheduler?

For each database (SQLite, and PostgreSQL unless ``--no-postgres``) and each size N
(``--sizes``, default 20 and 60), it makes a fresh ``HEADWATER_HOME`` in a temporary folder
with one DAG file of N no-op tasks (``--shape``, ``--kind``: see ``_common.py``), migrates
its database, stores the DAG with one ``DagFolderProcessor.scan()``, then counts, with
SQLAlchemy's engine events, everything the store does from the trigger to the run's end:

* **transactions**: each ``begin`` (a read connection's snapshot or a write transaction),
  and of those the **writes** (each ``commit``);
* **statements**: each ``before_cursor_execute``, i.e. each round trip SQLAlchemy makes (an
  ``executemany`` counts once; the ``BEGIN`` that the SQLite engine emits itself counts too).

The scheduler runs in this process with the in-process executor (``build_scheduler`` +
``Scheduler.run``), so the attempts' own reads and writes (the worker's part) are counted
as well. The run is triggered with ``headwater.operations.trigger_run``. The scheduler's
loop interval is set to an hour and its heartbeat to half of one (a run claim's lease must
outlast two heartbeats, and a lease is at most an hour), so that one full pass starts the
run and everything after is caused by the attempts' ends: the counts do not depend on
time. The
figure per task is the marginal one, ``(count(N_max) - count(N_min)) / (N_max - N_min)``,
which leaves out what a run costs whatever its size.

A benchmark, not a test: it checks only that every run succeeded.

    .venv/bin/python benchmarks/statement_counts.py
    .venv/bin/python benchmarks/statement_counts.py --sizes 10,100 --kind task --json
    .venv/bin/python benchmarks/statement_counts.py --postgres postgresql://me@db:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import create_database, dag_file_text, drop_database, parse_list, print_table

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def count_run(database: str, server_url: str | None, n: int, shape: str, kind: str) -> Counter[str]:
    """The counts of one run of N tasks on ``database`` ("sqlite" or "postgresql")."""
    from sqlalchemy import event

    from headwater.dag_processing.processor import DagFolderProcessor
    from headwater.db.opening import open_store
    from headwater.operations import trigger_run
    from headwater.scheduler.service import build_scheduler
    from headwater.settings import load_settings

    with tempfile.TemporaryDirectory(prefix="headwater-statements-") as tmp:
        home = Path(tmp)
        folder = home / "dags"
        folder.mkdir()
        (folder / "bench.py").write_text(dag_file_text("bench", n, kind, shape, schedule=None))
        saved = dict(os.environ)
        os.environ.update(
            HEADWATER_HOME=str(home),
            HEADWATER_DAGS_FOLDER=str(folder),
            HEADWATER__SCHEDULER__EXECUTOR="in_process",
            # One full pass (it starts the run), then only what the attempts' ends cause:
            # passes and heartbeats paced by the clock would make the counts depend on time.
            HEADWATER__SCHEDULER__LOOP_INTERVAL_S="3600",
            HEADWATER__SCHEDULER__NEW_RUN_CHECK_INTERVAL_S="0",
            HEADWATER__SCHEDULER__HEARTBEAT_INTERVAL_S="1800",
            HEADWATER__SCHEDULER__TASK_HEARTBEAT_TIMEOUT_S="7200",
            HEADWATER__SCHEDULER__RUN_CLAIM_LEASE_S="3600",  # at least two heartbeats
        )
        database_url = None
        if database == "postgresql":
            assert server_url is not None
            database_url = create_database(server_url, "headwater_statements")
            os.environ["HEADWATER_DATABASE_URL"] = database_url
        try:
            settings = load_settings()
            settings = replace(
                settings, scheduler=replace(settings.scheduler, executor="in_process")
            )
            store = open_store(settings, migrate=True)
            DagFolderProcessor(store, folder).scan()
            counts: Counter[str] = Counter()
            engine = store.engine
            listeners = {
                "before_cursor_execute": lambda *_a, **_k: counts.update(["statements"]),
                "begin": lambda *_a: counts.update(["transactions"]),
                "commit": lambda *_a: counts.update(["writes"]),
            }
            for name, listener in listeners.items():
                event.listen(engine, name, listener)
            done = threading.Event()
            scheduler = build_scheduler(settings, store=store)
            scheduler.on_run_finished = lambda run: done.set()
            run = trigger_run(store, "bench", now=datetime.now(UTC))
            scheduler.run(done.is_set)
            for name, listener in listeners.items():
                event.remove(engine, name, listener)
            stored = store.get_dag_run("bench", run.run_id)
            if stored is None or stored.state.value != "success":
                sys.exit(f"the run on {database} with {n} tasks did not succeed: {stored}")
            store.close()
        finally:
            os.environ.clear()
            os.environ.update(saved)
            if database_url is not None and server_url is not None:
                drop_database(server_url, database_url)
    return counts


def postgres_reachable(server_url: str) -> bool:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    engine = create_engine(server_url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return True
    except OperationalError:
        return False
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20,60", help="task counts, comma separated")
    parser.add_argument("--shape", default="chain", choices=("chain", "fanout"))
    parser.add_argument("--kind", default="empty", choices=("empty", "task"))
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        metavar="URL",
        help="a PostgreSQL server's URL to create scratch databases on",
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    sizes = sorted({int(size) for size in parse_list(args.sizes)})
    if len(sizes) < 2:
        parser.error("--sizes needs two sizes or more (the figure per task is a difference)")
    databases = ["sqlite"]
    if not args.no_postgres:
        if postgres_reachable(args.postgres):
            databases.append("postgresql")
        else:
            print(f"PostgreSQL is not reachable at {args.postgres}: SQLite only", file=sys.stderr)
    result: dict[str, Any] = {"shape": args.shape, "kind": args.kind, "databases": {}}
    rows = []
    for database in databases:
        per_size = {n: count_run(database, args.postgres, n, args.shape, args.kind) for n in sizes}
        low, high = min(sizes), max(sizes)
        figures = {}
        for name in ("transactions", "writes", "statements"):
            marginal = (per_size[high][name] - per_size[low][name]) / (high - low)
            figures[name] = {
                "counts": {n: per_size[n][name] for n in sizes},
                "per_task": round(marginal, 2),
            }
            counts = ", ".join(f"{per_size[n][name]} at {n}" for n in sizes)
            rows.append([database, name, counts, f"{marginal:.2f}"])
        result["databases"][database] = figures
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print_table(
        f"{args.shape} of no-op {args.kind} tasks through the scheduler (in-process executor)",
        ["database", "what", "counts (whole run)", "per task"],
        rows,
    )


if __name__ == "__main__":
    main()
