"""Daily orders report by email: sum up the day's orders per store and mail them to the team.

The pipeline, one run per day (``{{ ds }}`` is the day reported on)::

    summarize_orders  ->  send_report
    (Python: the day's orders     (EmailOperator: templates/daily_report.html
     per store, and a CSV file)    rendered with the numbers, the CSV attached)

It shows:

* an ``EmailOperator`` whose recipients and subject are templates and whose body is a
  Jinja ``.html`` file next to this one, reading the upstream task's value;
* alert emails: ``email`` and ``email_on_failure`` in ``default_args`` mail the on-call
  address when a task fails (the ``fail`` param forces a failure to see one);
* an SMTP connection, ``smtp_default``: the DAG loads without it, and only sending needs it.

Try it against a local debugging SMTP server that prints what it receives::

    .venv/bin/python -m aiosmtpd -n -l 127.0.0.1:8025 &
    export HEADWATER_CONN_SMTP_DEFAULT='smtp://127.0.0.1:8025?from_email=headwater%40example.com'
    headwater dags test daily_report_email --folder examples --logical-date 2024-01-30
    headwater dags test daily_report_email --folder examples --logical-date 2024-01-30 \\
        --conf '{"fail": true}'    # the alert email instead of the report
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from headwater import Param, dag, task
from headwater.operators import EmailOperator

HERE = Path(__file__).resolve().parent  # examples/, wherever the command runs from


@dag(
    dag_id="daily_report_email",
    schedule="@daily",
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    # It needs an SMTP connection: the scheduler leaves it paused until you add one and run
    # `headwater dags unpause daily_report_email` (dags test runs it regardless).
    is_paused_upon_creation=True,
    tags=["example", "email"],
    # Every task mails the on-call address when it fails for good (not on a retry).
    default_args={
        "email": "oncall@example.com",
        "email_on_failure": True,
        "email_on_retry": False,
    },
    params={
        "input_dir": Param(
            str(HERE / "data" / "incoming"),
            type="string",
            minLength=1,
            description="Folder of the stores' order CSVs (see multi_file_load).",
        ),
        "output_dir": Param(
            str(HERE / "output"),
            type="string",
            minLength=1,
            description="Where the CSV attached to the email is written.",
        ),
        "recipients": Param(
            "team@example.com",
            type="string",
            minLength=3,
            description="Who gets the report: addresses separated by commas or semicolons.",
        ),
        "fail": Param(
            False,
            type="boolean",
            description="Fail summarize_orders on purpose, to see the alert email.",
        ),
    },
)
def daily_report_email() -> None:
    """Sum up the day's orders per store, then email the report."""

    @task
    def summarize_orders(ds: str, params: dict[str, Any]) -> dict[str, Any]:
        """Orders, items and revenue per store for the day ``ds``, also written as a CSV."""
        if params["fail"]:
            raise RuntimeError(f"forced failure for {ds} (param fail=true): see the alert email")
        per_store: dict[str, dict[str, Any]] = defaultdict(
            lambda: {"orders": 0, "items": 0, "revenue": Decimal("0")}
        )
        for path in sorted(Path(params["input_dir"]).glob("*.csv")):
            with path.open(newline="") as file:
                for row in csv.DictReader(file):
                    if row["order_date"] != ds:
                        continue
                    totals = per_store[row["store_id"]]
                    totals["orders"] += 1
                    totals["items"] += int(row["quantity"])
                    totals["revenue"] += int(row["quantity"]) * Decimal(row["unit_price"])
        stores = [
            {"store_id": store, **values, "revenue": float(values["revenue"])}
            for store, values in sorted(per_store.items())
        ]
        csv_path = Path(params["output_dir"]) / "daily_report" / f"orders_{ds}.csv"
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        with csv_path.open("w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=["store_id", "orders", "items", "revenue"])
            writer.writeheader()
            writer.writerows(stores)
        print(f"{len(stores)} store(s) had orders on {ds}; CSV at {csv_path}")
        return {
            "stores": stores,
            "orders": sum(s["orders"] for s in stores),
            "items": sum(s["items"] for s in stores),
            "revenue": round(sum(s["revenue"] for s in stores), 2),
            "csv_path": str(csv_path),
        }

    report = summarize_orders()
    send = EmailOperator(
        task_id="send_report",
        to="{{ params.recipients }}",
        subject="Orders report for {{ ds }}",
        html_content="templates/daily_report.html",
        files=["{{ ti.xcom_pull(task_ids='summarize_orders')['csv_path'] }}"],
    )
    report >> send


daily_report_email()
