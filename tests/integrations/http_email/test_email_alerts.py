"""Alert emails when attempts fail: from in-process runs and from a scheduler's worker
process, received by a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from local_servers import SmtpServer

from headwater import DAG
from headwater.clock import FakeClock
from headwater.exceptions import DagDefinitionError
from headwater.hooks import BaseHook
from headwater.operators import PythonOperator
from headwater.secrets import Connection
from headwater.testing import MemoryStore, run_dag
from stored_dags import scan_here

DAY = datetime(2024, 1, 31, tzinfo=UTC)
OPS = "ops@example.com"


def _store(server: SmtpServer, conn_id: str = "smtp_default") -> MemoryStore:
    store = MemoryStore()
    store.set_connection(
        Connection(
            conn_id,
            "smtp",
            host=server.host,
            port=server.port,
            extra={"from_email": "headwater@example.com"},
        )
    )
    return store


def _fail(**context: Any) -> None:
    raise ValueError(f"bad row on {context['ds']}")


def _failing_dag(dag_id: str, **task_args: Any) -> DAG:
    with DAG(
        dag_id, start_date=DAY, schedule=None, default_args=task_args.pop("default_args", None)
    ) as dag:
        PythonOperator(task_id="load", python_callable=_fail, **task_args)
    return dag


def test_a_retry_then_a_failure_each_send_an_alert(
    smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER__API__BASE_URL", "https://hw.example.com/")
    dag = _failing_dag("alerts", email=OPS, retries=1, retry_delay=timedelta(minutes=1))
    result = run_dag(dag, logical_date=DAY, store=_store(smtp_server), clock=FakeClock(DAY))
    assert result.state_of("load") == "failed"
    first, second = smtp_server.received
    run_id = result.run.run_id
    assert first.rcpt_tos == second.rcpt_tos == [OPS]
    assert first.message["Subject"] == (
        f"Headwater alert: alerts.load failed, will retry (try 1 of 2, run {run_id})"
    )
    assert (
        second.message["Subject"]
        == f"Headwater alert: alerts.load failed (try 2 of 2, run {run_id})"
    )
    html = second.html()
    for expected in (
        "<td>alerts</td>",
        "<td>load</td>",
        f"<td>{run_id}</td>",
        "<td>2024-01-31</td>",
        "<td>2 of 2</td>",
        "<pre>ValueError: bad row on 2024-01-31</pre>",
        f"<td>{result.attempts('load')[1].log_path}</td>",
        # The attempt's page in the UI ([api] base_url).
        f'<a href="https://hw.example.com/dags/alerts/runs/{quote(run_id, safe="")}'
        '/tasks/load?map_index=-1&amp;try_number=2">View the log</a>',
    ):
        assert expected in html, expected
    assert "failed and will be retried" in first.html()
    assert f"Sent the retry alert email to {OPS}" in result.log("load", try_number=1)
    assert f"Sent the failure alert email to {OPS}" in result.log("load", try_number=2)


def test_email_on_retry_false_sends_only_the_failure(smtp_server: SmtpServer) -> None:
    dag = _failing_dag(
        "no_retry_mail", email=[OPS, "dev@example.com"], retries=1, email_on_retry=False
    )
    run_dag(dag, logical_date=DAY, store=_store(smtp_server), clock=FakeClock(DAY))
    [mail] = smtp_server.received
    assert mail.rcpt_tos == [OPS, "dev@example.com"]
    assert "(try 2 of 2," in mail.message["Subject"]


def test_default_args_carry_email_and_email_on_failure(smtp_server: SmtpServer) -> None:
    quiet = _failing_dag("quiet", default_args={"email": OPS, "email_on_failure": False})
    assert quiet.get_task("load").email == [OPS]
    assert quiet.get_task("load").email_on_failure is False
    assert run_dag(quiet, logical_date=DAY, store=_store(smtp_server)).state_of("load") == "failed"
    assert smtp_server.received == []
    loud = _failing_dag("loud", default_args={"email": f"{OPS}; dev@example.com"})
    run_dag(loud, logical_date=DAY, store=_store(smtp_server))
    [mail] = smtp_server.received
    assert mail.rcpt_tos == [OPS, "dev@example.com"]


def test_a_task_without_email_sends_nothing(smtp_server: SmtpServer) -> None:
    result = run_dag(_failing_dag("silent"), logical_date=DAY, store=_store(smtp_server))
    assert result.state_of("load") == "failed"
    assert smtp_server.received == []
    assert "alert email" not in result.log("load")


def test_a_secret_in_the_exception_is_masked_in_the_alert(smtp_server: SmtpServer) -> None:
    def leak() -> None:
        password = BaseHook.get_connection("db").password  # which masks it from now on
        raise RuntimeError(f"login refused with {password}")

    with DAG("leaky", start_date=DAY, schedule=None) as dag:
        PythonOperator(task_id="load", python_callable=leak, email=OPS)
    store = _store(smtp_server)
    store.set_connection(Connection("db", "postgres", host="db", password="hunter2-secret"))
    run_dag(dag, logical_date=DAY, store=store)
    [mail] = smtp_server.received
    assert "<pre>RuntimeError: login refused with ***</pre>" in mail.html()
    assert "hunter2-secret" not in mail.message.as_string()


def test_a_failure_to_send_is_logged_and_changes_nothing(smtp_server: SmtpServer) -> None:
    dag = _failing_dag("unsent", email=OPS, retries=1)
    # No smtp_default connection in this store.
    result = run_dag(dag, logical_date=DAY, store=MemoryStore(), clock=FakeClock(DAY))
    assert result.state_of("load") == "failed"
    assert [a.error for a in result.attempts("load")] == ["ValueError: bad row on 2024-01-31"] * 2
    assert (
        f"Could not send the retry alert email to {OPS}: ConnectionNotFoundError: connection "
        "'smtp_default' is not defined"
    ) in result.log("load", try_number=1)
    assert smtp_server.received == []


def test_custom_templates_from_the_settings(
    smtp_server: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject = tmp_path / "subject.txt"
    subject.write_text("[{{ ds }}] {{ task_label }}: {{ exception_type }}\n")
    body = tmp_path / "body.html"
    body.write_text("<p>{{ ti.task_id }} broke: {{ exception }} on {{ hostname }}</p>")
    monkeypatch.setenv("HEADWATER__EMAIL__SUBJECT_TEMPLATE", str(subject))
    monkeypatch.setenv("HEADWATER__EMAIL__HTML_CONTENT_TEMPLATE", str(body))
    monkeypatch.setenv("HEADWATER__EMAIL__SMTP_CONN_ID", "alerts_mail")
    run_dag(
        _failing_dag("custom", email=OPS),
        logical_date=DAY,
        store=_store(smtp_server, "alerts_mail"),
    )
    [mail] = smtp_server.received
    assert mail.message["Subject"] == "[2024-01-31] load: ValueError"
    assert mail.html().startswith("<p>load broke: ValueError: bad row on 2024-01-31 on ")


def test_a_missing_template_file_is_logged(
    smtp_server: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER__EMAIL__SUBJECT_TEMPLATE", str(tmp_path / "nope.txt"))
    result = run_dag(
        _failing_dag("missing_tpl", email=OPS), logical_date=DAY, store=_store(smtp_server)
    )
    assert result.state_of("load") == "failed"
    assert (
        f"Could not send the failure alert email to {OPS}: OSError: email.subject_template {tmp_path / 'nope.txt'}: cannot read the template"
        in result.log("load")
    )
    assert smtp_server.received == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"email": 3},
            "task 'x': email must be an address, a comma-separated string of them or a list of them, got 3",
        ),
        ({"email": "ops"}, "task 'x': email 'ops' is not an address"),
        (
            {"email_on_failure": "yes"},
            "task 'x': email_on_failure must be True or False, got 'yes'",
        ),
    ],
)
def test_bad_email_arguments_fail_when_the_dag_is_built(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(DagDefinitionError) as raised:
        PythonOperator(task_id="x", python_callable=print, **kwargs)
    assert str(raised.value) == message


# -- through the scheduler, from a worker process --------------------------------------------

DAG_FILE = """\
import os
from datetime import UTC, datetime

from headwater import DAG
from headwater.operators import PythonOperator


def fail():
    raise RuntimeError(f"failed in process {os.getpid()}")


with DAG("worker_alert", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None):
    PythonOperator(task_id="boom", python_callable=fail, email="ops@example.com")
"""


@pytest.fixture
def scheduler_env(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, Path]]:
    from headwater.store.sql import SqlStore

    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "worker_alert.py").write_text(textwrap.dedent(DAG_FILE))
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "local")
    store = SqlStore.from_url(db_url)
    try:
        yield store, folder
    finally:
        store.close()


@pytest.mark.slow
def test_the_alert_is_sent_from_a_local_worker_process(
    smtp_server: SmtpServer, scheduler_env: tuple[Any, Path]
) -> None:
    from headwater.operations import trigger_run
    from headwater.scheduler.service import build_scheduler
    from headwater.settings import load_settings

    store, folder = scheduler_env
    store.set_connection(
        Connection(
            "smtp_default",
            "smtp",
            host=smtp_server.host,
            port=smtp_server.port,
            extra={"from_email": "headwater@example.com"},
        )
    )
    assert not scan_here(store, folder).errors
    run = trigger_run(store, "worker_alert", now=datetime.now(UTC))
    scheduler = build_scheduler(load_settings(), store=store)
    scheduler.start()
    try:
        for _ in range(200):
            state = store.get_dag_run("worker_alert", run.run_id).state.value
            if state in ("success", "failed"):
                break
            scheduler.tick()
            finished = scheduler.executor.poll(timeout=10 if scheduler.executor.has_work else 0)
            if finished:
                scheduler.apply_outcomes(finished)
    finally:
        scheduler.stop()
    assert state == "failed"
    [attempt] = store.get_attempts("worker_alert", run.run_id, "boom")
    assert attempt.error is not None and attempt.error.startswith(
        "RuntimeError: failed in process "
    )
    worker_pid = int(attempt.error.rsplit(" ", 1)[1])
    assert worker_pid != os.getpid()
    [mail] = smtp_server.received
    assert mail.rcpt_tos == ["ops@example.com"]
    assert mail.message["Subject"] == (
        f"Headwater alert: worker_alert.boom failed (try 1 of 1, run {run.run_id})"
    )
    assert f"<pre>RuntimeError: failed in process {worker_pid}</pre>" in mail.html()
    assert (
        "Sent the failure alert email to ops@example.com"
        in Path(attempt.log_path or "").read_text()
    )
