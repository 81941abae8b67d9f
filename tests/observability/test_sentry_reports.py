"""Sentry: task exceptions with their ids and log lines, the errors a scheduler logs, secrets
masked everywhere in what is sent; a Sentry on 127.0.0.1 receives the real envelopes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sentry_sdk
from sentry_receiver import SentryReceiver

from command_processes import clean_env, run_headwater
from headwater import DAG
from headwater.exceptions import HeadwaterError
from headwater.log_format import log_fields
from headwater.masking import mask_secret
from headwater.operators import PythonOperator
from headwater.sentry_reports import init_sentry, log_breadcrumbs
from headwater.settings import load_settings

PASSWORD = "Tr0ub4dor-and-3"
START = datetime(2024, 1, 1, tzinfo=UTC)


def test_without_a_dsn_nothing_is_reported() -> None:
    assert init_sentry(load_settings(), "scheduler") is False
    assert not sentry_sdk.get_client().is_active()


def test_a_dsn_sentry_refuses_is_one_error_naming_the_setting_without_its_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEADWATER__SENTRY__DSN", "https://privatekey@sentry.example.com/")
    with pytest.raises(HeadwaterError, match=r"sentry\.dsn 'https://\*\*\*@sentry") as error:
        init_sentry(load_settings(), "scheduler")
    assert "privatekey" not in str(error.value)
    assert not sentry_sdk.get_client().is_active()


@pytest.mark.slow
def test_the_scheduler_command_refuses_a_bad_dsn_at_start(tmp_path: Path) -> None:
    env = {**clean_env(tmp_path / "home"), "HEADWATER__SENTRY__DSN": "not a dsn"}
    done = run_headwater(env, "scheduler", timeout_s=60)
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert "sentry.dsn 'not a dsn' is not a Sentry DSN" in line


def _failing_dag() -> DAG:
    def load() -> None:
        from headwater.secrets import get_connection

        conn = get_connection("warehouse")
        print(f"connecting as {conn.login} with {conn.password}")
        logging.getLogger("etl.load").info("3 files to load")
        raise ValueError(f"login refused for {conn.login}:{conn.password}")

    with DAG("etl", start_date=START, schedule=None) as dag:
        PythonOperator(task_id="load", python_callable=load)
    return dag


def test_a_task_exception_is_sent_with_its_ids_and_log_lines_and_no_secret(
    sentry: SentryReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER_CONN_WAREHOUSE", f"postgresql://etl:{PASSWORD}@db:5432/sales")
    assert init_sentry(load_settings(), "worker")

    result = _failing_dag().test()

    assert not result.succeeded
    (event,) = sentry.wait_for_events(1)
    tags = event["tags"]
    assert tags["dag_id"] == "etl"
    assert tags["task_id"] == "load"
    assert tags["run_id"] == result.run.run_id
    assert (tags["try_number"], tags["map_index"], tags["process"]) == (1, -1, "worker")
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "ValueError"
    assert exception["value"] == "login refused for etl:***"
    messages = [crumb["message"] for crumb in event["breadcrumbs"]["values"]]
    assert messages[0].startswith("Starting attempt 1 of 1: etl.load, run ")
    assert "connecting as etl with ***" in messages
    assert "3 files to load" in messages
    failed = next(m for m in messages if m.startswith("Task failed"))
    assert failed == "Task failed: ValueError: login refused for etl:***"
    assert all(crumb["category"] == "headwater.task" for crumb in event["breadcrumbs"]["values"])
    for body in sentry.bodies:  # the whole envelope: frames' variables, contexts, everything
        assert PASSWORD.encode() not in body


def test_the_errors_a_scheduler_logs_are_events_tagged_with_the_run(
    sentry: SentryReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # as `headwater scheduler` logs
    mask_secret("tok-31415926")
    assert init_sentry(load_settings(), "scheduler")
    log = logging.getLogger("headwater.scheduler.scheduler")
    log.info("Created run r1 of etl", extra=log_fields("etl", "r1"))
    log.error(
        "Run %s of %s: its DAG cannot be loaded: %s",
        "r1",
        "etl",
        "bad token tok-31415926",
        extra=log_fields("etl", "r1"),
    )
    sentry_sdk.flush(timeout=10)

    (event,) = sentry.wait_for_events(1)
    assert (
        event["logentry"]["formatted"] == "Run r1 of etl: its DAG cannot be loaded: bad token ***"
    )
    assert (event["tags"]["dag_id"], event["tags"]["run_id"]) == ("etl", "r1")
    assert event["tags"]["process"] == "scheduler"
    assert event["logger"] == "headwater.scheduler.scheduler"
    crumbs = [crumb["message"] for crumb in event["breadcrumbs"]["values"]]
    assert "Created run r1 of etl" in crumbs
    assert all(b"tok-31415926" not in body for body in sentry.bodies)


def test_an_attempts_log_lines_become_breadcrumbs(tmp_path: Path) -> None:
    log = tmp_path / "attempt=1.log"
    log.write_text(
        "[2024-06-01T12:00:00.000Z] {INFO} Starting attempt 1 of 2: etl.load, run r1\n"
        "[2024-06-01T12:00:01.500Z] {WARNING} slow\n"
        "[2024-06-01T12:00:02.000Z] {ERROR} Traceback (most recent call last):\n"
        '  File "dags/etl.py", line 3, in load\n'
        "ValueError: no\n"
    )
    crumbs = log_breadcrumbs(log)
    assert [(c["level"], c["message"]) for c in crumbs] == [
        ("info", "Starting attempt 1 of 2: etl.load, run r1"),
        ("warning", "slow"),
        (
            "error",
            'Traceback (most recent call last):\n  File "dags/etl.py", line 3, in load\n'
            "ValueError: no",
        ),
    ]
    assert crumbs[1]["timestamp"] == datetime(2024, 6, 1, 12, 0, 1, 500000, tzinfo=UTC)
    assert log_breadcrumbs(tmp_path / "missing.log") == []
