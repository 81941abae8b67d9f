"""examples/daily_report_email.py, run against a real SMTP server (aiosmtpd on 127.0.0.1):
the report arrives with the day rendered, and a forced failure sends the alert instead."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from local_servers import SmtpServer

from headwater.authoring.dag import DAG
from headwater.secrets import Connection
from headwater.testing import MemoryStore, load_dags, run_dag

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
DAY = datetime(2024, 1, 30, tzinfo=UTC)  # the day of the shipped order files


@pytest.fixture(scope="module")
def example() -> DAG:
    bag = load_dags(EXAMPLES)
    assert not bag.import_errors
    return bag.get_dag("daily_report_email")


def _store(server: SmtpServer) -> MemoryStore:
    store = MemoryStore()
    store.set_connection(
        Connection(
            "smtp_default",
            "smtp",
            host=server.host,
            port=server.port,
            extra={"from_email": "headwater@example.com"},
        )
    )
    return store


def test_the_example_loads_without_an_smtp_connection_and_writes_under_output(
    example: DAG,
) -> None:
    assert example.get_task("summarize_orders").email == ["oncall@example.com"]
    assert Path(example.params["output_dir"].default) == EXAMPLES / "output"


def test_the_report_arrives_with_the_days_numbers(
    example: DAG, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    conf = {"output_dir": str(tmp_path), "recipients": "team@example.com; boss@example.com"}
    result = run_dag(example, logical_date=DAY, conf=conf, store=_store(smtp_server))
    assert result.succeeded, result.task_states
    [mail] = smtp_server.received
    assert mail.rcpt_tos == ["team@example.com", "boss@example.com"]
    assert mail.message["Subject"] == "Orders report for 2024-01-30"
    html = mail.html()
    assert "<h2>Orders of 2024-01-30</h2>" in html
    for store, orders in (("berlin", 5), ("lyon", 4), ("porto", 6)):
        assert f"<tr><td>{store}</td><td>{orders}</td>" in html
    assert "<tr><th>Total</th><th>15</th>" in html
    [attachment] = mail.message.iter_attachments()
    assert attachment.get_filename() == "orders_2024-01-30.csv"
    lines = attachment.get_content().decode().splitlines()
    assert lines[0] == "store_id,orders,items,revenue"
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["berlin", "5"],
        ["lyon", "4"],
        ["porto", "6"],
    ]


def test_a_day_without_orders_says_so(
    example: DAG, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    day = datetime(2024, 2, 2, tzinfo=UTC)
    result = run_dag(
        example, logical_date=day, conf={"output_dir": str(tmp_path)}, store=_store(smtp_server)
    )
    assert result.succeeded
    [mail] = smtp_server.received
    assert mail.message["Subject"] == "Orders report for 2024-02-02"
    assert "<p>No orders on 2024-02-02.</p>" in mail.html()


def test_a_forced_failure_sends_the_alert_instead(
    example: DAG, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    conf = {"output_dir": str(tmp_path), "fail": True}
    result = run_dag(example, logical_date=DAY, conf=conf, store=_store(smtp_server))
    assert result.task_states == {"summarize_orders": "failed", "send_report": "upstream_failed"}
    [alert] = smtp_server.received
    assert alert.rcpt_tos == ["oncall@example.com"]
    assert alert.message["Subject"] == (
        f"Headwater alert: daily_report_email.summarize_orders failed (try 1 of 1, run {result.run.run_id})"
    )
    assert (
        "<pre>RuntimeError: forced failure for 2024-01-30 (param fail=true): see the alert email</pre>"
        in alert.html()
    )
