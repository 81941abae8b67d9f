"""Alerting: a Slack-format message when a task fails, and a webhook when the run fails.

The pipeline, one run per day::

    check_inventory  ->  publish_stock_levels

It shows:

* a notifier as a task callback: ``default_args`` give every task
  ``on_failure_callback=SlackWebhookNotifier(...)``, sent with the default message (DAG,
  task, run, try, the exception and a link to the attempt's page in the UI), with retries,
  in the background: a slow Slack never holds up the run;
* a list of callbacks at the DAG level: a function and a generic ``WebhookNotifier`` with a
  templated JSON body, called when the run fails;
* connections it needs only to send: ``slack_alerts`` (an incoming webhook) and
  ``alerts_webhook``. Without them the DAG runs all the same: a notification that cannot
  be sent is one line in the attempt's log and a ``notification_failed`` event, never a
  failed task, and nothing goes to the network.

Try it against any HTTP server on your machine that accepts POSTs (the webhook receiver of
docs/notifications.md prints what it gets)::

    export HEADWATER_CONN_SLACK_ALERTS='{"conn_type": "slackwebhook",
        "host": "http://127.0.0.1:8765/slack", "password": "T000/B000/XXXX"}'
    export HEADWATER_CONN_ALERTS_WEBHOOK='{"conn_type": "http", "host": "http://127.0.0.1:8765",
        "extra": {"endpoint": "/runs"}}'
    headwater dags test alerting --folder examples --conf '{"fail": true}'
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from headwater import Param, dag, task
from headwater.notifications import SlackWebhookNotifier, WebhookNotifier

log = logging.getLogger(__name__)


def log_failed_run(context: dict[str, Any]) -> None:
    """A plain function among the DAG's callbacks: called with the same context."""
    log.warning("run %s of %s failed: %s", context["run_id"], context["dag_id"], context["reason"])


@dag(
    dag_id="alerting",
    schedule="@daily",
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    # It alerts on purpose when asked to (the `fail` param): the scheduler leaves it paused.
    is_paused_upon_creation=True,
    tags=["example", "alerting"],
    params={"fail": Param(False, type="boolean", description="Make check_inventory fail.")},
    default_args={
        "retries": 1,
        "retry_delay": timedelta(seconds=1),
        "on_failure_callback": SlackWebhookNotifier(slack_webhook_conn_id="slack_alerts"),
    },
    on_failure_callback=[
        log_failed_run,
        WebhookNotifier(
            webhook_conn_id="alerts_webhook",
            body={
                "dag": "{{ dag_id }}",
                "run": "{{ run_id }}",
                "why": "{{ reason }}",
                "link": "{{ notification.url }}",
            },
        ),
    ],
)
def alerting() -> None:
    @task
    def check_inventory(params: dict[str, Any]) -> dict[str, int]:
        if params["fail"]:
            raise RuntimeError("the inventory service answered 503 (forced by the fail param)")
        return {"apples": 120, "pears": 45}

    @task
    def publish_stock_levels(levels: dict[str, int]) -> int:
        for item, count in sorted(levels.items()):
            log.info("%s: %d in stock", item, count)
        return sum(levels.values())

    publish_stock_levels(check_inventory())


alerting()
