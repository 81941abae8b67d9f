"""Load the day's order files from several stores into a SQLite warehouse, idempotently.

Each store drops a CSV of orders into an "incoming" folder. Once a day the pipeline::

    discover_files  ->  validate_file[0..n]  ->  load_to_warehouse  ->  report
    (list the CSVs)     (one mapped task per     (one transaction:    (row counts and
                         file: headers, types)    replace the day)     revenue per store)

It shows:

* dynamic task mapping: ``validate_file.expand(path=...)`` runs one task instance per file
  found at run time, and the next task receives the list of all their results;
* an idempotent load: the rows of the run's day (``{{ ds }}``) are deleted and inserted again
  in one transaction, so re-running a day never duplicates or loses rows;
* params with JSON-schema validation, including an ``enum`` (``on_invalid``);
* no network at all: this is the example ``make run`` executes.

Try it::

    headwater dags test multi_file_load --folder examples
    headwater dags test multi_file_load --folder examples --logical-date 2024-01-31 \\
        --conf '{"on_invalid": "skip"}'
    sqlite3 examples/output/warehouse.db 'SELECT load_date, store_id, COUNT(*) FROM orders GROUP BY 1, 2'
"""

from __future__ import annotations

import csv
import sqlite3
from contextlib import closing
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from headwater import Param, TaskFailedNoRetry, TaskSkipped, dag, task

HERE = Path(__file__).resolve().parent  # examples/, wherever the command runs from
COLUMNS = [
    "order_id",
    "store_id",
    "order_date",
    "customer_id",
    "product_sku",
    "quantity",
    "unit_price",
]

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS orders (
    load_date   TEXT    NOT NULL,  -- the run's ds: the partition a run replaces
    store_id    TEXT    NOT NULL,
    order_id    TEXT    NOT NULL,
    order_date  TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    product_sku TEXT    NOT NULL,
    quantity    INTEGER NOT NULL,
    unit_price  REAL    NOT NULL,
    source_file TEXT    NOT NULL,
    PRIMARY KEY (load_date, store_id, order_id)
)
"""


@dag(
    dag_id="multi_file_load",
    schedule="@daily",
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    tags=["example", "mapping", "sqlite"],
    params={
        "input_dir": Param(
            str(HERE / "data" / "incoming"),
            type="string",
            minLength=1,
            description="Folder the stores drop their order CSVs into.",
        ),
        "file_pattern": Param("*.csv", type="string", minLength=1),
        "db_path": Param(
            str(HERE / "output" / "warehouse.db"),
            type="string",
            minLength=1,
            description="SQLite database file of the warehouse (created if missing).",
        ),
        "on_invalid": Param(
            "fail",
            enum=["fail", "skip"],
            description="A file that fails validation fails the run, or is left out of the load.",
        ),
    },
)
def multi_file_load() -> None:
    """Validate every store's order file, then replace the day's rows in the warehouse."""

    @task
    def discover_files(params: dict[str, Any]) -> list[str]:
        """The CSV files waiting in the input folder, sorted so map indexes are stable."""
        folder = Path(params["input_dir"])
        if not folder.is_dir():
            raise FileNotFoundError(f"input folder {folder} does not exist")
        files = sorted(str(p) for p in folder.glob(params["file_pattern"]) if p.is_file())
        if not files:
            # Nothing arrived: skip the rest of the run rather than fail it.
            raise TaskSkipped(f"no files matching {params['file_pattern']!r} in {folder}")
        print(f"Found {len(files)} file(s) in {folder}:")
        for path in files:
            print(f"  {Path(path).name}")
        return files

    @task
    def validate_file(path: str, params: dict[str, Any]) -> dict[str, Any]:
        """Check one file's header and every row's types; return a summary of the file.

        One instance of this task runs per file (see ``.expand`` below).
        """
        errors: list[str] = []
        rows = 0
        stores: set[str] = set()
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames != COLUMNS:
                errors.append(f"header is {reader.fieldnames}, expected {COLUMNS}")
            else:
                seen: set[str] = set()
                for line_number, row in enumerate(reader, start=2):  # line 1 is the header
                    rows += 1
                    try:
                        order = parse_order(row)
                    except ValueError as exc:
                        errors.append(f"line {line_number}: {exc}")
                        continue
                    if order["order_id"] in seen:
                        errors.append(f"line {line_number}: duplicate order_id {order['order_id']}")
                    seen.add(order["order_id"])
                    stores.add(order["store_id"])
        if rows == 0 and not errors:
            errors.append("the file has no rows")

        name = Path(path).name
        summary = {
            "path": path,
            "file": name,
            "rows": rows,
            "stores": sorted(stores),
            "valid": not errors,
            "errors": errors,
        }
        if errors:
            details = "; ".join(errors[:5]) + (
                f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
            )
            if params["on_invalid"] == "fail":
                # Retrying would not fix a bad file: fail at once.
                raise TaskFailedNoRetry(f"{name} is invalid: {details}")
            print(f"WARNING: {name} is invalid and will not be loaded: {details}")
        else:
            print(f"{name}: {rows} valid row(s) for store(s) {', '.join(sorted(stores))}")
        return summary

    @task(retries=1)
    def load_to_warehouse(
        summaries: list[dict[str, Any]], ds: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Replace the rows of day ``ds`` with the valid files' rows, in one transaction."""
        valid = [s for s in summaries if s["valid"]]
        rejected = [s["file"] for s in summaries if not s["valid"]]
        rows = [
            {**parse_order(row), "load_date": ds, "source_file": s["file"]}
            for s in valid
            for row in read_rows(s["path"])
        ]

        db_path = Path(params["db_path"])
        db_path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(db_path)) as conn:
            conn.execute(CREATE_TABLE)
            # `with conn` is one transaction: committed if the block succeeds, rolled back
            # if anything fails, so the day is never left half-loaded.
            with conn:
                deleted = conn.execute("DELETE FROM orders WHERE load_date = ?", (ds,)).rowcount
                conn.executemany(
                    """
                    INSERT INTO orders (load_date, store_id, order_id, order_date, customer_id,
                                        product_sku, quantity, unit_price, source_file)
                    VALUES (:load_date, :store_id, :order_id, :order_date, :customer_id,
                            :product_sku, :quantity, :unit_price, :source_file)
                    """,
                    rows,
                )
        print(f"Load date {ds}: replaced {deleted} row(s) with {len(rows)} row(s) in {db_path}")
        if rejected:
            print(f"Left out invalid file(s): {', '.join(rejected)}")
        return {
            "load_date": ds,
            "rows_loaded": len(rows),
            "rows_replaced": deleted,
            "files_loaded": [s["file"] for s in valid],
            "files_rejected": rejected,
        }

    @task
    def report(load: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """Query the warehouse for the day just loaded and print a per-store summary."""
        with closing(sqlite3.connect(params["db_path"])) as conn:
            per_store = conn.execute(
                """
                SELECT store_id, COUNT(*), SUM(quantity), ROUND(SUM(quantity * unit_price), 2)
                FROM orders WHERE load_date = ? GROUP BY store_id ORDER BY store_id
                """,
                (load["load_date"],),
            ).fetchall()
            (all_rows,) = conn.execute("SELECT COUNT(*) FROM orders").fetchone()

        stores = {
            store: {"orders": orders, "items": items, "revenue": revenue}
            for store, orders, items, revenue in per_store
        }
        print(f"Warehouse {params['db_path']}, load date {load['load_date']}:")
        print(f"  {'store':<10} {'orders':>6} {'items':>6} {'revenue':>10}")
        for store, s in stores.items():
            print(f"  {store:<10} {s['orders']:>6} {s['items']:>6} {s['revenue']:>10.2f}")
        total = sum(s["orders"] for s in stores.values())
        print(f"  {'total':<10} {total:>6}")
        print(f"The warehouse holds {all_rows} row(s) over all load dates.")
        return {
            "load_date": load["load_date"],
            "stores": stores,
            "total_orders": total,
            "warehouse_rows": all_rows,
        }

    files = discover_files()
    # One validate_file instance per path; its output downstream is the list of all summaries.
    summaries = validate_file.expand(path=files)
    report(load_to_warehouse(summaries))


def read_rows(path: str) -> list[dict[str, Any]]:
    """The data rows of a CSV file, as dicts keyed by the header."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def parse_order(row: dict[str, Any]) -> dict[str, Any]:
    """One CSV row as typed values; ValueError names the first bad field."""
    if None in row:  # csv.DictReader puts values beyond the header under the key None
        raise ValueError(f"{len(COLUMNS) + len(row[None])} fields, expected {len(COLUMNS)}")
    text = {name: (row.get(name) or "").strip() for name in COLUMNS}
    for name, value in text.items():
        if not value:
            raise ValueError(f"{name} is empty")
    order: dict[str, Any] = dict(text)
    try:
        order["order_date"] = date.fromisoformat(text["order_date"]).isoformat()
    except ValueError:
        raise ValueError(f"order_date {text['order_date']!r} is not a YYYY-MM-DD date") from None
    try:
        order["quantity"] = int(text["quantity"])
    except ValueError:
        raise ValueError(f"quantity {text['quantity']!r} is not an integer") from None
    if order["quantity"] < 1:
        raise ValueError(f"quantity {order['quantity']} is not positive")
    try:
        price = Decimal(text["unit_price"])
    except InvalidOperation:
        raise ValueError(f"unit_price {text['unit_price']!r} is not a number") from None
    if not price.is_finite() or price < 0 or int(price.as_tuple().exponent) < -2:
        raise ValueError(f"unit_price {text['unit_price']!r} is not an amount like 12.50")
    order["unit_price"] = float(price)
    return order


multi_file_load_dag = multi_file_load()
