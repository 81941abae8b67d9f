"""Notifiers through a real scheduler: task callbacks sent from a local worker process (its
background sender flushed when the worker exits), the DAG's callback from the callback child
process, and a failing backend recorded as a ``notification_failed`` event in the database."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from notification_servers import Receiver

from headwater.secrets import Connection
from stored_dags import scan_here

DAG_FILE = """\
from datetime import UTC, datetime

from headwater import DAG
from headwater.notifications import SlackWebhookNotifier, WebhookNotifier
from headwater.operators import PythonOperator


def fail():
    raise RuntimeError("disk full")


with DAG(
    "alerting",
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    schedule=None,
    on_failure_callback=[
        WebhookNotifier(url="{url}/ok/dag", body={{"run": "{{{{ run_id }}}}"}}),
        WebhookNotifier(url="{url}/fail/dag"),
        SlackWebhookNotifier(slack_webhook_conn_id="slack_runs"),
    ],
):
    PythonOperator(
        task_id="boom",
        python_callable=fail,
        on_failure_callback=[
            SlackWebhookNotifier(slack_webhook_conn_id="slack_alerts"),
            WebhookNotifier(url="{url}/fail"),
        ],
    )
"""


@pytest.fixture
def scheduler_env(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> Iterator[tuple[Any, Path]]:
    from headwater.store.sql import SqlStore

    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "alerting.py").write_text(textwrap.dedent(DAG_FILE.format(url=receiver.url)))
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "local")
    store = SqlStore.from_url(db_url)
    try:
        yield store, folder
    finally:
        store.close()


@pytest.mark.slow
def test_task_and_dag_notifiers_through_the_scheduler(
    receiver: Receiver, scheduler_env: tuple[Any, Path]
) -> None:
    from headwater.operations import trigger_run
    from headwater.scheduler.service import build_scheduler
    from headwater.settings import load_settings

    store, folder = scheduler_env
    store.set_connection(
        Connection("slack_alerts", "slackwebhook", host=f"{receiver.url}/ok", password="T/B/s")
    )
    store.set_connection(
        Connection("slack_runs", "slackwebhook", host=f"{receiver.url}/ok/runs", password="R/U/N")
    )
    assert not scan_here(store, folder).errors
    run = trigger_run(store, "alerting", now=datetime.now(UTC))
    scheduler = build_scheduler(load_settings(), store=store)
    scheduler.start()
    try:
        for _ in range(200):
            state = store.get_dag_run("alerting", run.run_id).state.value
            if state in ("success", "failed"):
                break
            scheduler.tick()
            finished = scheduler.executor.poll(timeout=10 if scheduler.executor.has_work else 0)
            if finished:
                scheduler.apply_outcomes(finished)
    finally:
        scheduler.stop()  # workers exit (flushing their notifications), callbacks finish
    assert state == "failed"
    [task_post] = receiver.posts_to("/ok/T/B/s")
    assert task_post.body["text"].startswith("*alerting.boom failed*\n")
    assert "Exception: RuntimeError: disk full" in task_post.body["text"]
    [dag_post] = receiver.posts_to("/ok/dag")
    assert dag_post.body == {"run": run.run_id}
    assert len(receiver.posts_to("/fail")) == 6  # 3 tries from the worker, 3 from the DAG's
    events = store.list_events(kind="notification_failed")
    by_task = {event.task_id: event for event in events}
    assert set(by_task) == {None, "boom"}
    task_event, dag_event = by_task["boom"], by_task[None]
    assert task_event.detail == (
        f"WebhookNotifier: POST {receiver.url}/fail answered 500: "
        '{"error": "the receiver always fails"}'
    )
    assert (task_event.dag_id, task_event.run_id, task_event.try_number) == (
        "alerting",
        run.run_id,
        1,
    )
    assert dag_event.detail.startswith(f"WebhookNotifier: POST {receiver.url}/fail/dag")
    assert (dag_event.dag_id, dag_event.run_id) == ("alerting", run.run_id)
    [attempt] = store.get_attempts("alerting", run.run_id, "boom")
    log = Path(attempt.log_path).read_text()
    assert "Notification failed after 3 tries: WebhookNotifier: " in log
    # The DAG callback process's log masks the run notifier's token (its connection's
    # password), which httpx logs in the URL it posted to.
    [run_post] = receiver.posts_to("/ok/runs/")
    assert run_post.path == "/ok/runs/R/U/N"
    callbacks_log = Path(attempt.log_path).parents[1] / "dag_callbacks.log"
    logged = callbacks_log.read_text()
    assert "/ok/runs/***" in logged and "R/U/N" not in logged
