"""Notifiers as deadline callbacks, through a real scheduler on a fake clock and the deadline
callback process: a Slack-format message reaches a webhook receiver on 127.0.0.1 while the
run is unfinished, and a backend that fails is recorded as a ``notification_failed`` event
and marks the callback ``failed``, never the run."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from notification_servers import Receiver

from command_processes import wait_for
from headwater.clock import FakeClock
from headwater.secrets import Connection
from headwater.store.deadlines import CALLBACK_FAILED, MISSED, STARTED
from stored_dags import scan_here

DAG_FILE = """\
from datetime import UTC, datetime, timedelta

from headwater import DAG, Deadline, DeadlineReference
from headwater.notifications import SlackWebhookNotifier, WebhookNotifier
from headwater.operators import EmptyOperator

with DAG(
    "watched",
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    deadline=Deadline(
        reference=DeadlineReference.STARTED_AT,
        interval=timedelta(minutes=1),
        name="one_minute",
        callback=[
            SlackWebhookNotifier(slack_webhook_conn_id="slack_alerts"),
            WebhookNotifier(url="{url}/fail/deadline"),
        ],
    ),
):
    EmptyOperator(task_id="slow")
"""


def test_a_missed_deadline_sends_its_notifiers_from_the_callback_process(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    from headwater.operations import trigger_run
    from headwater.scheduler.service import build_scheduler
    from headwater.settings import load_settings
    from headwater.store.sql import SqlStore

    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "watched.py").write_text(textwrap.dedent(DAG_FILE.format(url=receiver.url)))
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "in_process")
    remote = tmp_path / "remote-logs"
    monkeypatch.setenv("HEADWATER__LOGGING__REMOTE_LOG_FOLDER", str(remote))
    clock = FakeClock(datetime(2024, 3, 1, tzinfo=UTC))
    with SqlStore.from_url(db_url, clock=clock) as store:
        store.set_connection(
            Connection("slack_alerts", "slackwebhook", host=f"{receiver.url}/ok", password="T/B/s")
        )
        assert not scan_here(store, folder).errors
        run = trigger_run(store, "watched", now=clock.now())
        scheduler = build_scheduler(load_settings(), store=store, clock=clock)
        scheduler.start()
        try:
            scheduler.tick()  # the run starts; its task stays queued (never polled here)
            clock.advance(timedelta(minutes=2))
            scheduler.tick()
            [miss] = store.list_deadline_misses(["watched"])[0]
            assert miss.status == MISSED
            wait_for(
                lambda: store.get_deadline(miss.id).callback_state != STARTED,  # type: ignore[union-attr]
                "the callback process",
            )
        finally:
            scheduler.stop()
        done = store.get_deadline(miss.id)
        assert done is not None and done.callback_state == CALLBACK_FAILED
        assert done.callback_error == "WebhookNotifier: the notification was not sent"
        [post] = receiver.posts_to("/ok/T/B/s")
        text = post.body["text"]
        assert text.startswith("*watched missed deadline*\n")
        assert "Deadline: one_minute (due " in text
        assert "Reason: the run is not finished (running)" in text
        assert len(receiver.posts_to("/fail/deadline")) == 3  # three tries
        [event] = store.list_events(kind="notification_failed")
        assert (event.dag_id, event.run_id, event.task_id) == ("watched", run.run_id, None)
        assert event.detail.startswith(f"WebhookNotifier: POST {receiver.url}/fail/deadline")
        assert store.get_dag_run("watched", run.run_id).state.value == "running"  # type: ignore[union-attr]
        # The callback process's log masks the webhook's token (the connection's password),
        # which httpx logs in the URL it posted to.
        log_file = (
            Path(load_settings().logs_folder)
            / "dag_id=watched"
            / f"run_id={run.run_id}"
            / "deadline_callbacks.log"
        )
        logged = log_file.read_text()
        assert "POST http" in logged and "/ok/***" in logged
        assert "T/B/s" not in logged
        # A second copy goes to [logging] remote_log_folder, as a DAG callback's log does.
        copy = remote / "dag_id=watched" / f"run_id={run.run_id}" / "deadline_callbacks.log"
        assert copy.read_text() == logged
