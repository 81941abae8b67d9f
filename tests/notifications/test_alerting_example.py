"""examples/alerting.py: it runs without its connections (the failures to send are logged,
nothing goes to the network), and with them a failed run reaches the local receiver."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from notification_servers import Receiver

from headwater.notifications import flush_notifications
from headwater.testing import FakeClock, MemoryStore, load_dags, run_dag

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DAY = datetime(2024, 1, 31, tzinfo=UTC)


def _dag():  # type: ignore[no-untyped-def]
    bag = load_dags(EXAMPLES / "alerting.py")
    assert not bag.import_errors
    return bag.dags["alerting"]


def test_it_succeeds_and_sends_nothing_by_default() -> None:
    result = run_dag(_dag(), logical_date=DAY, clock=FakeClock(DAY))
    assert result.run.state.value == "success"
    assert result.xcom("publish_stock_levels") == 165


def test_without_connections_a_failure_is_logged_not_sent() -> None:
    store = MemoryStore()
    result = run_dag(
        _dag(), logical_date=DAY, conf={"fail": True}, store=store, clock=FakeClock(DAY)
    )
    assert flush_notifications(30)
    assert result.run.state.value == "failed"
    assert "Notification failed after 0 tries: SlackWebhookNotifier: " in result.log(
        "check_inventory"
    )
    notifiers = sorted(
        e.detail.split(":")[0] for e in store.list_events(kind="notification_failed")
    )
    assert notifiers == ["SlackWebhookNotifier", "WebhookNotifier"]  # the task's, the run's


def test_with_connections_the_messages_reach_the_receiver(receiver: Receiver) -> None:
    connections = {
        "slack_alerts": f'{{"conn_type": "slackwebhook", "host": "{receiver.url}/ok", '
        '"password": "T000/B000/XXXX"}',
        "alerts_webhook": f'{{"conn_type": "http", "host": "{receiver.url}", '
        '"extra": {"endpoint": "/ok/runs"}}',
    }
    result = run_dag(
        _dag(),
        logical_date=DAY,
        conf={"fail": True},
        connections=connections,
        clock=FakeClock(DAY),
    )
    assert flush_notifications(30)
    slack = receiver.posts_to("/ok/T000")
    # on_failure_callback: the last try only (a retry would call on_retry_callback).
    assert [p.body["text"].splitlines()[:6] for p in slack] == [
        [
            "*alerting.check_inventory failed*",
            "DAG: alerting",
            "Task: check_inventory",
            f"Run: {result.run.run_id}",
            "Try: 2 of 2",
            "State: failed",
        ]
    ]
    [run_post] = receiver.posts_to("/ok/runs")
    assert run_post.body == {
        "dag": "alerting",
        "run": result.run.run_id,
        "why": "task failed: check_inventory",
        "link": "https://hw.example.com/dags/alerting?run_id="
        + result.run.run_id.replace(":", "%3A").replace("+", "%2B"),
    }
