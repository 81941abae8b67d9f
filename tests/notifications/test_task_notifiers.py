"""Notifiers as task callbacks, in in-process runs (the runtime every executor uses):
sent in the background after the outcome is decided, never failing or holding up the task."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from notification_servers import Receiver

from headwater import DAG
from headwater.clock import FakeClock
from headwater.exceptions import TaskSkipped
from headwater.notifications import SlackWebhookNotifier, WebhookNotifier, flush_notifications
from headwater.notifications.outbox import outbox
from headwater.operators import PythonOperator
from headwater.secrets import Connection
from headwater.testing import MemoryStore, run_dag

DAY = datetime(2024, 1, 31, tzinfo=UTC)
BASE = "https://hw.example.com"


@pytest.fixture(autouse=True)
def _flushed() -> Iterator[None]:
    yield
    assert flush_notifications(30), "notifications still pending after the test"


def _store(receiver: Receiver, path: str = "/ok/slack") -> MemoryStore:
    store = MemoryStore()
    store.set_connection(
        Connection("slack_alerts", "slackwebhook", host=f"{receiver.url}{path}", password="T/B/s")
    )
    return store


def _fail(**context: Any) -> None:
    raise ValueError(f"bad row on {context['ds']}")


def _run(dag: DAG, store: MemoryStore, clock: FakeClock | None = None) -> Any:
    result = run_dag(dag, logical_date=DAY, store=store, clock=clock or FakeClock(DAY))
    assert flush_notifications(30)
    return result


def test_a_failed_task_sends_the_default_message(receiver: Receiver) -> None:
    with DAG("sales", start_date=DAY, schedule=None) as dag:
        PythonOperator(
            task_id="load",
            python_callable=_fail,
            on_failure_callback=SlackWebhookNotifier(slack_webhook_conn_id="slack_alerts"),
        )
    result = _run(dag, _store(receiver))
    assert result.state_of("load") == "failed"
    [post] = receiver.posts
    run_id = result.run.run_id
    quoted = run_id.replace(":", "%3A").replace("+", "%2B")
    assert post.body["text"] == (
        "*sales.load failed*\n"
        "DAG: sales\n"
        "Task: load\n"
        f"Run: {run_id}\n"
        "Try: 1 of 1\n"
        "State: failed\n"
        "Exception: ValueError: bad row on 2024-01-31\n"
        f"<{BASE}/dags/sales/runs/{quoted}/tasks/load?map_index=-1&try_number=1|View the log>"
    )
    assert "SlackWebhookNotifier: notification queued" in result.log("load")


def test_templates_see_the_task_context(receiver: Receiver) -> None:
    with DAG("sales", start_date=DAY, schedule=None, params={"region": "eu"}) as dag:
        PythonOperator(
            task_id="load",
            python_callable=_fail,
            on_failure_callback=WebhookNotifier(
                url=f"{receiver.url}/ok/hook",
                body={
                    "who": "{{ ti.task_id }} try {{ ti.try_number }} on {{ ds }}",
                    "error": "{{ exception }}",
                    "param": "{{ params.region }}",
                },
            ),
        )
    _run(dag, _store(receiver))
    assert receiver.posts[0].body == {
        "who": "load try 1 on 2024-01-31",
        "error": "bad row on 2024-01-31",
        "param": "eu",
    }


def test_retry_then_success_each_notify(receiver: Receiver) -> None:
    tries: list[int] = []

    def flaky(**context: Any) -> None:
        tries.append(context["ti"].try_number)
        if len(tries) == 1:
            raise RuntimeError("first try fails")

    hook = f"{receiver.url}/ok/hook"
    with DAG("sales", start_date=DAY, schedule=None) as dag:
        PythonOperator(
            task_id="load",
            python_callable=flaky,
            retries=1,
            retry_delay=timedelta(minutes=5),
            on_retry_callback=WebhookNotifier(url=hook),
            on_success_callback=WebhookNotifier(url=hook),
        )
    result = _run(dag, _store(receiver))
    assert result.state_of("load") == "success"
    retried, succeeded = (post.body for post in receiver.posts)
    assert (retried["state"], retried["try_number"], retried["exception"]) == (
        "failed, retrying",
        1,
        "RuntimeError: first try fails",
    )
    assert retried["url"].endswith("tasks/load?map_index=-1&try_number=1")
    assert (succeeded["state"], succeeded["try_number"], succeeded["exception"]) == (
        "succeeded",
        2,
        None,
    )


def test_a_list_of_callbacks_mixes_functions_and_notifiers(receiver: Receiver) -> None:
    called: list[str] = []
    with DAG("sales", start_date=DAY, schedule=None) as dag:
        PythonOperator(
            task_id="load",
            python_callable=_fail,
            on_failure_callback=[
                lambda context: called.append(context["ti"].task_id),
                WebhookNotifier(url=f"{receiver.url}/ok/one"),
                WebhookNotifier(url=f"{receiver.url}/ok/two", preset="discord"),
            ],
        )
    _run(dag, _store(receiver))
    assert called == ["load"]
    assert sorted(post.path for post in receiver.posts) == ["/ok/one", "/ok/two"]


def test_on_skipped_is_called_when_the_task_skips_itself(receiver: Receiver) -> None:
    def skip() -> None:
        raise TaskSkipped("nothing to load today")

    with DAG("sales", start_date=DAY, schedule=None) as dag:
        PythonOperator(
            task_id="load",
            python_callable=skip,
            on_skipped_callback=WebhookNotifier(url=f"{receiver.url}/ok/skipped"),
            on_failure_callback=WebhookNotifier(url=f"{receiver.url}/ok/failed"),
        )
    result = _run(dag, _store(receiver))
    assert result.state_of("load") == "skipped"
    [post] = receiver.posts
    assert post.path == "/ok/skipped"
    assert post.body["title"] == "sales.load skipped"


def test_a_mapped_instance_links_to_its_map_index(receiver: Receiver) -> None:
    def check(n: int) -> None:
        if n == 2:
            raise ValueError("two is bad")

    with DAG("sales", start_date=DAY, schedule=None) as dag:
        PythonOperator.partial(
            task_id="check",
            python_callable=check,
            on_failure_callback=WebhookNotifier(url=f"{receiver.url}/ok/mapped"),
        ).expand(op_args=[[1], [2]])
    _run(dag, _store(receiver))
    [post] = receiver.posts
    assert post.body["title"] == "sales.check[1] failed"
    assert post.body["url"].endswith("/tasks/check?map_index=1&try_number=1")


def test_a_backend_that_always_fails_never_fails_the_task(receiver: Receiver) -> None:
    with DAG("sales", start_date=DAY, schedule=None) as dag:
        PythonOperator(
            task_id="load",
            python_callable=lambda: "ok",
            on_success_callback=WebhookNotifier(url=f"{receiver.url}/fail"),
        )
    store = _store(receiver)
    result = _run(dag, store)
    assert result.state_of("load") == "success"
    assert len(receiver.posts) == 3  # every try
    [event] = store.list_events(kind="notification_failed")
    detail = f"WebhookNotifier: POST {receiver.url}/fail answered 500: " + (
        '{"error": "the receiver always fails"}'
    )
    assert event.detail == detail
    assert (event.dag_id, event.run_id, event.task_id, event.try_number) == (
        "sales",
        result.run.run_id,
        "load",
        1,
    )
    assert f"Notification failed after 3 tries: {detail}" in result.log("load")


def test_a_hanging_backend_holds_up_neither_the_task_nor_the_next(receiver: Receiver) -> None:
    with DAG("sales", start_date=DAY, schedule=None) as dag:
        first = PythonOperator(
            task_id="extract",
            python_callable=lambda: 1,
            on_success_callback=WebhookNotifier(url=f"{receiver.url}/hang"),
        )
        first >> PythonOperator(task_id="load", python_callable=lambda: 2)
    result = run_dag(dag, logical_date=DAY, store=_store(receiver), clock=FakeClock(DAY))
    assert result.run.state.value == "success"
    assert receiver.state.hanging.wait(10)  # the request was sent, and is held
    assert outbox().pending() == 1  # the run ended while its notification waits
    receiver.state.release.set()
    assert flush_notifications(30)
    assert outbox().pending() == 0


def test_a_missing_connection_is_reported_in_the_attempt(receiver: Receiver) -> None:
    with DAG("sales", start_date=DAY, schedule=None) as dag:
        PythonOperator(
            task_id="load",
            python_callable=_fail,
            on_failure_callback=SlackWebhookNotifier(slack_webhook_conn_id="not_set"),
        )
    store = MemoryStore()
    result = _run(dag, store)
    log = result.log("load")
    assert "Notification failed after 0 tries: SlackWebhookNotifier: " in log
    assert "connection 'not_set'" in log
    [event] = store.list_events(kind="notification_failed")
    assert event.task_id == "load"


@pytest.mark.slow
def test_dags_test_sends_before_the_command_exits(receiver: Receiver, tmp_path: Path) -> None:
    import os
    import subprocess
    import textwrap

    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "noisy.py").write_text(
        textwrap.dedent(
            f"""
            from datetime import UTC, datetime
            from headwater import DAG
            from headwater.notifications import WebhookNotifier
            from headwater.operators import PythonOperator

            with DAG("noisy", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None):
                PythonOperator(
                    task_id="hello",
                    python_callable=lambda: "hi",
                    on_success_callback=WebhookNotifier(url="{receiver.url}/ok/cli"),
                )
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "headwater", "dags", "test", "noisy", "--folder", str(folder)],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [post] = receiver.posts
    assert post.body["title"] == "noisy.hello succeeded"
