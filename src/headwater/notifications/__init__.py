"""Notifiers: callables to use wherever a callback goes (task ``on_failure_callback``,
``on_retry_callback``, ``on_success_callback``, ``on_skipped_callback``; DAG
``on_success_callback``, ``on_failure_callback``, ``sla_miss_callback``; a ``Deadline``'s
``callback``), that send a templated message with retries and never fail the caller.

Example::

    from headwater.notifications import SlackWebhookNotifier

    PythonOperator(
        task_id="load",
        python_callable=load,
        on_failure_callback=SlackWebhookNotifier(slack_webhook_conn_id="slack_alerts"),
    )

See docs/notifications.md.
"""

from headwater.notifications.apprise_bridge import AppriseNotifier
from headwater.notifications.base import BaseNotifier, NotificationError
from headwater.notifications.delivery import NotificationFailure, report_failures_to
from headwater.notifications.email import EmailNotifier
from headwater.notifications.messages import NotificationMessage
from headwater.notifications.outbox import flush_notifications
from headwater.notifications.slack import SlackNotifier, SlackWebhookNotifier
from headwater.notifications.webhook import WebhookNotifier

__all__ = [
    "AppriseNotifier",
    "BaseNotifier",
    "EmailNotifier",
    "NotificationError",
    "NotificationFailure",
    "NotificationMessage",
    "SlackNotifier",
    "SlackWebhookNotifier",
    "WebhookNotifier",
    "flush_notifications",
    "report_failures_to",
]
