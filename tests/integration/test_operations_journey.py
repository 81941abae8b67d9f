"""Issue 14 as a new user tries it: a real ``headwater standalone`` process, a Slack-format
webhook receiver and an SMTP server (aiosmtpd) on 127.0.0.1.

* A DAG whose task fails sends the default Slack message (``SlackWebhookNotifier``) to the
  receiver and two emails to the SMTP server: an ``EmailNotifier`` and the task's
  ``email_on_failure`` alert.
* A DAG whose run must finish three seconds after it starts, with a task that sleeps much
  longer: the miss fires while the task still runs, its notifier reaches the receiver, and
  ``headwater dags deadlines --output json`` shows it once, its callback done.

Every process started here (the command, its DAG processor and workers) is killed at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from command_processes import clean_env, kill_session, run_headwater, wait_for
from notifications.notification_servers import (
    Receiver,
    SmtpServer,
    _no_proxy,
    receiver,
    smtp_server,
)

__all__ = ["_no_proxy", "receiver", "smtp_server"]

pytestmark = pytest.mark.slow

BASE_URL = "https://hw.example.com"
COMMAND = (sys.executable, "-m", "headwater", "standalone", "--no-ui")

ALERTS_DAG = """\
from datetime import UTC, datetime

from headwater import DAG
from headwater.notifications import EmailNotifier, SlackWebhookNotifier
from headwater.operators import PythonOperator


def load():
    raise ValueError("bad row 42 in orders.csv")


with DAG(
    "sales_load",
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    schedule=None,
    default_args={"email": "oncall@example.com"},
):
    PythonOperator(
        task_id="load",
        python_callable=load,
        on_failure_callback=[
            SlackWebhookNotifier(slack_webhook_conn_id="slack_alerts"),
            EmailNotifier(to="lead@example.com"),
        ],
    )
"""

DEADLINE_DAG = """\
from datetime import UTC, datetime, timedelta

from headwater import DAG, Deadline, DeadlineReference
from headwater.notifications import SlackWebhookNotifier
from headwater.operators import BashOperator

with DAG(
    "nightly_load",
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    schedule=None,
    deadline=Deadline(
        reference=DeadlineReference.STARTED_AT,
        interval=timedelta(seconds=3),
        callback=SlackWebhookNotifier(slack_webhook_conn_id="slack_deadlines"),
        name="three_seconds",
    ),
):
    BashOperator(task_id="load", bash_command="sleep 120")
"""


def _left_behind(folder: Path) -> list[int]:
    """Processes whose environment names this test's DAG folder: everything the command
    started, down to the commands of its tasks (a ``BashOperator``'s command runs in a
    session of its own, out of reach of ``kill_session``)."""
    marker = f"HEADWATER_DAGS_FOLDER={folder}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _deadline_misses(env: dict[str, str]) -> list[dict[str, Any]]:
    shown = run_headwater(env, "dags", "deadlines", "nightly_load", "--output", "json")
    assert shown.returncode == 0, shown.stderr
    items: list[dict[str, Any]] = json.loads(shown.stdout)["items"]
    return items


def test_failure_alerts_and_a_deadline_missed_while_the_task_runs(
    tmp_path: Path, receiver: Receiver, smtp_server: SmtpServer
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "sales_load.py").write_text(ALERTS_DAG)
    (folder / "nightly_load.py").write_text(DEADLINE_DAG)
    slack = {"conn_type": "slackwebhook", "password": "T000/B000/XXXX"}
    env = {
        **clean_env(tmp_path / "home"),
        "HEADWATER_DAGS_FOLDER": str(folder),
        "HEADWATER_CONN_SLACK_ALERTS": json.dumps({**slack, "host": f"{receiver.url}/ok/alerts"}),
        "HEADWATER_CONN_SLACK_DEADLINES": json.dumps(
            {**slack, "host": f"{receiver.url}/ok/deadlines"}
        ),
        "HEADWATER_CONN_SMTP_DEFAULT": (
            f"smtp://{smtp_server.host}:{smtp_server.port}?from_email=headwater%40example.com"
        ),
        "HEADWATER__API__BASE_URL": BASE_URL,
        "HEADWATER__SCHEDULER__LOOP_INTERVAL_S": "0.2",
        "HEADWATER__DEADLINES__CHECK_INTERVAL_S": "0.2",
        "HEADWATER__NOTIFICATIONS__RETRY_DELAY_S": "0",
        "HEADWATER__SCHEDULER__KILL_GRACE_S": "1",
    }
    stderr_file = tmp_path / "stderr.txt"
    with open(stderr_file, "wb") as err:
        process = subprocess.Popen(
            [*COMMAND, "--trigger", "sales_load", "--trigger", "nightly_load"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    try:
        wait_for(lambda: receiver.posts_to("/ok/alerts"), "the Slack failure message", 30)
        wait_for(lambda: len(smtp_server.received) == 2, "the two failure emails", 30)
        wait_for(lambda: receiver.posts_to("/ok/deadlines"), "the deadline's Slack message", 30)
        wait_for(
            lambda: [m["callback_state"] for m in _deadline_misses(env)] == ["done"],
            "the deadline callback's end",
            30,
        )
        [miss] = _deadline_misses(env)
        states = run_headwater(env, "dags", "state", "nightly_load", miss["run_id"])
        assert process.poll() is None, stderr_file.read_text()[-2000:]
        os.kill(process.pid, signal.SIGTERM)  # Ctrl-C: stops the running task's command too
        assert process.wait(timeout=30) == 0, stderr_file.read_text()[-2000:]
        wait_for(lambda: not _left_behind(folder), "every process started to end", 10)
    finally:
        kill_session(process.pid)
        process.wait()
        for pid in _left_behind(folder):
            os.kill(pid, signal.SIGKILL)

    # The failure, in Slack's markup: names, the try, the exception, a link to the attempt.
    [failure] = receiver.posts_to("/ok/alerts")
    assert failure.path == "/ok/alerts/T000/B000/XXXX"
    text = failure.body["text"]
    assert text.startswith("*sales_load.load failed*\nDAG: sales_load\nTask: load\n")
    assert "Try: 1 of 1\n" in text
    assert "Exception: ValueError: bad row 42 in orders.csv\n" in text
    assert f"<{BASE_URL}/dags/sales_load/runs/manual__" in text
    assert "/tasks/load?map_index=-1&try_number=1|View the log>" in text

    # The emails: the notifier's and the task's email_on_failure alert.
    by_recipient = {tuple(mail.rcpt_tos): mail for mail in smtp_server.received}
    assert set(by_recipient) == {("lead@example.com",), ("oncall@example.com",)}
    notifier_mail = by_recipient[("lead@example.com",)]
    assert notifier_mail.message["Subject"] == "[headwater] sales_load.load failed"
    assert "ValueError: bad row 42 in orders.csv" in notifier_mail.html()
    assert f'href="{BASE_URL}/dags/sales_load/runs/' in notifier_mail.html()
    alert = by_recipient[("oncall@example.com",)]
    assert alert.message["Subject"].startswith("Headwater alert: sales_load.load failed (try 1")
    assert f'href="{BASE_URL}/dags/sales_load/runs/' in alert.html()
    assert all(mail.mail_from == "headwater@example.com" for mail in smtp_server.received)

    # The deadline: missed while its task still ran (the run is still running at the end),
    # recorded once, its notifier called once.
    assert miss["name"] == "three_seconds" and miss["kind"] == "deadline"
    assert miss["reason"] == "the run is not finished (running)"
    assert miss["task_id"] is None and miss["status"] == "missed"
    assert states.returncode == 0 and "running" in states.stdout, states.stdout + states.stderr
    [deadline_post] = receiver.posts_to("/ok/deadlines")
    deadline_text = deadline_post.body["text"]
    assert deadline_text.startswith("*nightly_load missed deadline*\nDAG: nightly_load\n")
    assert "Reason: the run is not finished (running)" in deadline_text
    assert f"<{BASE_URL}/dags/nightly_load?run_id=" in deadline_text
    assert deadline_text.endswith("|View the run>")
