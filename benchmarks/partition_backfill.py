"""How long a backfill of 100,000 partitions takes to plan and to store, on SQLite and
PostgreSQL. A benchmark, not a test: it checks only that every run was stored.

    .venv/bin/python benchmarks/partition_backfill.py
    .venv/bin/python benchmarks/partition_backfill.py --partitions 20000 --databases sqlite --json

A small DAG (three tasks) with hourly partitions is stored by the DAG processor in a fresh
database (a temporary SQLite file; a PostgreSQL database of its own, dropped at the end).
Then, as ``headwater dags backfill DAG --partitions FIRST..LAST`` does:

* **plan**: ``plan_partition_backfill`` (one read of the DAG's runs, one pass over the keys);
* **store**: ``run_backfill`` (the runs and their task instances, batched, in one unit of
  work), counting the SQL statements it sends;
* **plan again**: the same plan once every partition has a run (each key is then a skip),
  which reads the 100,000 runs back.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import command_line, machine_info, print_table
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from headwater.clock import FakeClock
from headwater.dag_processing.processor import DagFolderProcessor
from headwater.db.engine import create_db_engine
from headwater.db.migrate import upgrade
from headwater.operations import plan_partition_backfill, run_backfill
from headwater.store.sql import SqlStore

DAG_FILE = """
from datetime import UTC, datetime
from headwater import DAG, TimePartitions
from headwater.operators import EmptyOperator

with DAG("hourly_load", start_date=datetime(2000, 1, 1, tzinfo=UTC), schedule="@hourly",
         partitions=TimePartitions("hourly", start="2000-01-01T00")):
    extract, transform = EmptyOperator(task_id="extract"), EmptyOperator(task_id="transform")
    extract >> transform >> EmptyOperator(task_id="load")
"""
FIRST = datetime(2000, 1, 1, tzinfo=UTC)


@contextmanager
def sqlite_url(folder: Path) -> Iterator[str]:
    yield f"sqlite:///{folder / 'bench.db'}"


@contextmanager
def postgres_url(admin_url: str) -> Iterator[str]:
    name = f"hw_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def measure(url: str, folder: Path, count: int) -> dict[str, Any]:
    engine = create_db_engine(url)
    upgrade(engine)
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    store = SqlStore(engine, clock=clock)
    dags = folder / "dags"
    dags.mkdir()
    (dags / "hourly.py").write_text(textwrap.dedent(DAG_FILE))
    report = DagFolderProcessor(store, dags).scan()
    assert not report.errors, report
    last = (FIRST + timedelta(hours=count - 1)).strftime("%Y-%m-%dT%H")
    spec = f"2000-01-01T00..{last}"
    started = time.perf_counter()
    plan = plan_partition_backfill(store, "hourly_load", spec, now=clock.now())
    planned = time.perf_counter()
    statements = 0

    def count_statement(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(engine, "before_cursor_execute", count_statement)
    result = run_backfill(store, plan, max_active_runs=16, now=clock.now())
    stored = time.perf_counter()
    event.remove(engine, "before_cursor_execute", count_statement)
    again = plan_partition_backfill(store, "hourly_load", spec, now=clock.now())
    replanned = time.perf_counter()
    assert len(result.created) == count, (len(result.created), count)
    assert len(again.with_action("skip")) == count
    engine.dispose()
    return {
        "partitions": count,
        "plan_s": round(planned - started, 2),
        "store_s": round(stored - planned, 2),
        "statements": statements,
        "plan_again_s": round(replanned - stored, 2),
        "runs_per_s": round(count / (stored - started)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partitions", type=int, default=100_000)
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    results = []
    for database in args.databases.split(","):
        with tempfile.TemporaryDirectory(prefix="headwater-partitions-") as work:
            folder = Path(work)
            maker = sqlite_url(folder) if database == "sqlite" else postgres_url(args.postgres_url)
            with maker as url:
                results.append({"database": database, **measure(url, folder, args.partitions)})
    if args.json:
        json.dump(
            {"command": command_line(), "machine": machine_info(), "results": results},
            sys.stdout,
            indent=2,
        )
        print()
        return
    columns = [
        "database",
        "partitions",
        "plan_s",
        "store_s",
        "statements",
        "plan_again_s",
        "runs_per_s",
    ]
    print_table(
        "Backfill over hourly partitions (3 tasks per run)",
        columns,
        [[str(r[c]) for c in columns] for r in results],
    )


if __name__ == "__main__":
    main()
