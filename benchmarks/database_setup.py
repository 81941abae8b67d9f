"""What a new metadata database and an up-to-date check cost: ``headwater.db.migrate``'s
``upgrade`` of an empty database (built from the models in one step and stamped) against the
whole migration chain applied one migration after another (what ``upgrade`` did before), and
``check`` (every command that opens a database runs it). A benchmark, not a test: it checks
only that each database ends up to date.

    .venv/bin/python benchmarks/database_setup.py
    .venv/bin/python benchmarks/database_setup.py --repeat 20 --no-postgres --json

Each measure runs ``--repeat`` times on a fresh SQLite file (and a fresh PostgreSQL database
on the server of ``--postgres``, created and dropped around each), in this process, after
one warm-up (imports and the first read of the migration scripts are not counted: a
command pays them once). The table shows the median and the best, in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    command_line,
    create_database,
    drop_database,
    machine_info,
    print_table,
)
from alembic import command
from sqlalchemy import Engine

from headwater.db.engine import create_db_engine
from headwater.db.migrate import alembic_config, check, upgrade

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def chain(engine: Engine) -> None:
    """Every migration, one after another (``alembic upgrade head``)."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")


def measure(
    fresh: Callable[[], tuple[str, Callable[[], None]]], action: Callable[[Engine], Any], n: int
) -> list[float]:
    """``action`` on a fresh database ``n`` times (plus a warm-up); milliseconds each."""
    times: list[float] = []
    for i in range(n + 1):
        url, cleanup = fresh()
        engine = create_db_engine(url)
        try:
            started = time.perf_counter()
            action(engine)
            elapsed = (time.perf_counter() - started) * 1000
            if not check(engine).up_to_date:
                raise SystemExit(f"{url}: not up to date after the measure")
        finally:
            engine.dispose()
            cleanup()
        if i:
            times.append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="a server's URL")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    work = Path(tempfile.mkdtemp(prefix="hw-db-setup-"))
    counter = iter(range(1_000_000))

    def sqlite() -> tuple[str, Callable[[], None]]:
        path = work / f"{next(counter)}.db"
        return f"sqlite:///{path}", lambda: [p.unlink() for p in work.glob(f"{path.name}*")]

    def postgres() -> tuple[str, Callable[[], None]]:
        url = create_database(args.postgres, "hw_bench_setup")
        return url, lambda: drop_database(args.postgres, url)

    def checked(engine: Engine) -> None:
        upgrade(engine)
        started = time.perf_counter()
        for _ in range(10):
            check(engine)
        checks.append((time.perf_counter() - started) * 100)  # ms per check

    backends = [("sqlite", sqlite)] + ([] if args.no_postgres else [("postgresql", postgres)])
    results: dict[str, dict[str, list[float]]] = {}
    for name, fresh in backends:
        checks: list[float] = []
        results[name] = {
            "new database (upgrade)": measure(fresh, upgrade, args.repeat),
            "the whole chain, one by one": measure(fresh, chain, args.repeat),
        }
        measure(fresh, checked, args.repeat)
        results[name]["check (up to date)"] = checks[1:]

    if args.json:
        print(json.dumps({"machine": machine_info(), "results": results}, indent=2))
        return
    print(command_line())
    rows = [
        [backend, what, f"{statistics.median(times):.1f}", f"{min(times):.1f}"]
        for backend, measures in results.items()
        for what, times in measures.items()
    ]
    print_table("Database set-up (ms)", ["database", "what", "median", "best"], rows)


if __name__ == "__main__":
    main()
