"""How fast PostgresHook.insert_rows writes 100,000 rows into PostgreSQL, against psycopg
itself: a plain ``executemany`` (the baseline) and ``COPY ... FROM STDIN`` (the fastest way
in). A benchmark, not a test: it checks only that every method wrote every row.

    .venv/bin/python benchmarks/insert_rows.py
    .venv/bin/python benchmarks/insert_rows.py --rows 20000 --repeat 5 --json

Each method writes the same rows (an integer key, text, a numeric amount, a timestamp) into
an empty table (so the upserts insert every row: the merge is what they add) in a schema of
its own (dropped at the end), ``--repeat`` times; the table shows the median and the best.
The target (issue 11): insert_rows within 1.5x of COPY.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg
from _common import command_line, machine_info, print_table
from sqlalchemy.engine import make_url

from headwater.hooks.postgres import PostgresHook
from headwater.secrets import Connection

COLUMNS = ("id", "name", "amount", "created_at")
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def make_rows(count: int) -> list[tuple[Any, ...]]:
    return [
        (i, f"customer {i}", Decimal(i % 10_000) / 100, START + dt.timedelta(seconds=i))
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be at least 1")

    url = make_url(args.url)
    connection = Connection(
        "bench",
        "postgres",
        host=url.host,
        port=url.port,
        login=url.username,
        password=url.password,
        schema=url.database,
    )
    hook = PostgresHook("bench", connection=connection, log_sql=False)
    schema = f"hw_bench_{uuid.uuid4().hex[:8]}"
    table = f"{schema}.rows"
    rows = make_rows(args.rows)
    insert = f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES (%s, %s, %s, %s)"

    def executemany() -> None:
        with hook.get_conn() as conn, conn.cursor() as cursor:
            cursor.executemany(insert, rows)

    def copy() -> None:
        statement = f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN"
        with hook.get_conn() as conn, conn.cursor() as cursor, cursor.copy(statement) as writer:
            for row in rows:
                writer.write_row(row)

    def insert_rows(commit_every: int) -> Callable[[], None]:
        return lambda: hook.insert_rows(table, rows, COLUMNS, commit_every=commit_every)

    upsert_statement = (
        f"{insert} ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
        "amount = excluded.amount, created_at = excluded.created_at"
    )

    def executemany_upsert() -> None:
        with hook.get_conn() as conn, conn.cursor() as cursor:
            cursor.executemany(upsert_statement, rows)

    def upsert(commit_every: int) -> Callable[[], None]:
        return lambda: hook.insert_rows(
            table, rows, COLUMNS, commit_every=commit_every, replace=True, replace_index="id"
        )

    methods: list[tuple[str, Callable[[], None]]] = [
        ("psycopg executemany (baseline)", executemany),
        ("psycopg COPY", copy),
        ("insert_rows (commit_every=1000)", insert_rows(1000)),
        ("insert_rows (commit_every=10000)", insert_rows(10_000)),
        ("insert_rows (commit_every=0, one transaction)", insert_rows(0)),
        ("psycopg executemany ON CONFLICT (upsert baseline)", executemany_upsert),
        ("insert_rows replace=True (commit_every=1000)", upsert(1000)),
        ("insert_rows replace=True (commit_every=0)", upsert(0)),
    ]
    timings: dict[str, list[float]] = {name: [] for name, _ in methods}
    hook.run(
        [
            f"CREATE SCHEMA {schema}",
            f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "amount NUMERIC(12, 2), created_at TIMESTAMPTZ)",
        ]
    )
    try:
        for _ in range(args.repeat):
            for name, method in methods:
                hook.run(f"TRUNCATE {table}")
                started = time.perf_counter()
                method()
                timings[name].append(time.perf_counter() - started)
                count = hook.get_first(f"SELECT COUNT(*) FROM {table}")
                if count != (args.rows,):
                    raise SystemExit(f"{name} wrote {count} rows, not {args.rows}")
    finally:
        hook.run(f"DROP SCHEMA {schema} CASCADE")

    copy_median = statistics.median(timings["psycopg COPY"])
    results = [
        {
            "method": name,
            "median_s": statistics.median(times),
            "best_s": min(times),
            "rows_per_s": args.rows / statistics.median(times),
            "vs_copy": statistics.median(times) / copy_median,
        }
        for name, times in timings.items()
    ]
    if args.json:
        info = machine_info(rows=args.rows, repeat=args.repeat, psycopg=psycopg.__version__)
        report = {"machine": info, "command": command_line(), "results": results}
        print(json.dumps(report, indent=2))
        return
    print_table(
        f"{args.rows:,} rows into PostgreSQL, median of {args.repeat}",
        "method|median s|best s|rows/s|x COPY",
        [
            [
                r["method"],
                f"{r['median_s']:.3f}",
                f"{r['best_s']:.3f}",
                f"{r['rows_per_s']:,.0f}",
                f"{r['vs_copy']:.2f}",
            ]
            for r in results
        ],
    )


if __name__ == "__main__":
    main()
