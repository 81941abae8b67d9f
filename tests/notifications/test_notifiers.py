"""Each built-in notifier against a real server on 127.0.0.1, called as a DAG-level or
deadline callback calls it: with a context that has no task keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from notification_servers import Receiver, SmtpServer

from headwater.notifications import (
    AppriseNotifier,
    BaseNotifier,
    EmailNotifier,
    NotificationError,
    NotificationFailure,
    SlackNotifier,
    SlackWebhookNotifier,
    WebhookNotifier,
    report_failures_to,
)
from headwater.secrets import Connection, use_metastore
from headwater.testing import MemoryStore

RUN_ID = "manual__2024-01-31T00:00:00+00:00"
RUN_LINK = (
    "https://hw.example.com/dags/daily_sales?run_id=manual__2024-01-31T00%3A00%3A00%2B00%3A00"
)


def _dag_context(**more: Any) -> dict[str, Any]:
    """What a DAG's on_failure_callback gets (runtime/callbacks.py): no ti, no task."""
    return {
        "dag_id": "daily_sales",
        "run_id": RUN_ID,
        "ds": "2024-01-31",
        "logical_date": datetime(2024, 1, 31, tzinfo=UTC),
        "reason": "task failed: load",
        "callback_kind": "failure",
        **more,
    }


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    """Connections live in the metadata store, looked up as in a DAG callback process."""
    store = MemoryStore()
    with use_metastore(store):
        yield store


@pytest.fixture
def failures() -> Iterator[list[NotificationFailure]]:
    found: list[NotificationFailure] = []
    with report_failures_to(found.append):
        yield found


def test_slack_webhook_posts_the_default_message(
    receiver: Receiver, store: MemoryStore, failures: list[NotificationFailure]
) -> None:
    store.set_connection(
        Connection("slack_alerts", "slackwebhook", host=f"{receiver.url}/ok", password="T0/B0/xyz")
    )
    SlackWebhookNotifier(slack_webhook_conn_id="slack_alerts")(_dag_context())
    [post] = receiver.posts
    assert post.path == "/ok/T0/B0/xyz"
    assert post.content_type == "application/json"
    text = post.body["text"]
    assert text.startswith("*daily_sales failed*\n")
    assert f"Run: {RUN_ID}" in text
    assert "Reason: task failed: load" in text  # a run's reason, not an exception
    assert f"<{RUN_LINK}|View the run>" in text  # a run's page, not a log
    assert failures == []


def test_slack_webhook_renders_text_and_blocks(receiver: Receiver, store: MemoryStore) -> None:
    store.set_connection(Connection("hook", "slackwebhook", password=f"{receiver.url}/ok/full-url"))
    notifier = SlackWebhookNotifier(
        slack_webhook_conn_id="hook",
        text="{{ dag_id }} on {{ ds }}: {{ notification.state }}",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*{{ run_id }}*"}}],
        channel="#alerts",
    )
    notifier(_dag_context())
    [post] = receiver.posts
    assert post.path == "/ok/full-url"
    assert post.body == {
        "text": "daily_sales on 2024-01-31: failed",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{RUN_ID}*"}}],
        "channel": "#alerts",
    }
    assert notifier.text == "{{ dag_id }} on {{ ds }}: {{ notification.state }}"  # a copy rendered


def test_slack_api_posts_with_the_bot_token(receiver: Receiver, store: MemoryStore) -> None:
    store.set_connection(
        Connection("slack_bot", "slack", host=f"{receiver.url}/ok", password="xoxb-secret-token")
    )
    SlackNotifier(slack_conn_id="slack_bot", channel="C123", text="{{ reason }}")(_dag_context())
    [post] = receiver.posts
    assert post.path == "/ok/chat.postMessage"
    assert post.headers["authorization"] == "Bearer xoxb-secret-token"
    assert post.body == {"channel": "C123", "text": "task failed: load"}


def test_slack_api_ok_false_is_a_failure_with_slacks_error(
    receiver: Receiver, store: MemoryStore, failures: list[NotificationFailure]
) -> None:
    store.set_connection(
        Connection("slack_bot", "slack", host=f"{receiver.url}/slack-refuses", password="xoxb-1")
    )
    SlackNotifier(slack_conn_id="slack_bot", channel="nope")(_dag_context())
    assert len(receiver.posts) == 3  # max_tries
    [failure] = failures
    assert failure.detail == (
        "SlackNotifier: Slack chat.postMessage refused the message: channel_not_found"
    )


def test_generic_webhook_with_a_templated_body_and_headers(
    receiver: Receiver, store: MemoryStore
) -> None:
    store.set_connection(
        Connection(
            "events",
            "http",
            host=receiver.url,
            extra={
                "endpoint": "/ok/events",
                "token": "evt-token-42",
                "headers": {"X-Team": "data"},
            },
        )
    )
    WebhookNotifier(
        webhook_conn_id="events",
        body={"summary": "{{ notification.title }}", "tags": ["{{ dag_id }}", "headwater"]},
        headers={"X-Run": "{{ run_id }}"},
    )(_dag_context())
    [post] = receiver.posts
    assert post.path == "/ok/events"
    assert post.body == {"summary": "daily_sales failed", "tags": ["daily_sales", "headwater"]}
    assert post.headers["authorization"] == "Bearer evt-token-42"
    assert post.headers["x-team"] == "data"
    assert post.headers["x-run"] == RUN_ID


def test_webhook_body_as_a_json_template(receiver: Receiver) -> None:
    WebhookNotifier(
        url=f"{receiver.url}/ok/raw",
        body='{"text": {{ notification.title | tojson }}, "n": {{ params.n }}}',
    )(_dag_context(params={"n": 3}))
    assert receiver.posts[0].body == {"text": "daily_sales failed", "n": 3}


def test_webhook_presets_for_teams_and_discord(receiver: Receiver) -> None:
    context = _dag_context()
    WebhookNotifier(url=f"{receiver.url}/ok/teams", preset="teams")(context)
    WebhookNotifier(url=f"{receiver.url}/ok/discord", preset="discord")(context)
    WebhookNotifier(url=f"{receiver.url}/ok/generic")(context)
    teams, discord, generic = receiver.posts
    [attachment] = teams.body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["body"][0]["text"] == "daily_sales failed"
    assert {"title": "Run", "value": RUN_ID} in card["body"][1]["facts"]
    assert card["actions"][0] == {
        "type": "Action.OpenUrl",
        "title": "View the run",
        "url": RUN_LINK,
    }
    assert discord.body["content"].startswith("**daily_sales failed**\nDAG: daily_sales\n")
    assert generic.body["url"] == RUN_LINK
    assert generic.body["state"] == "failed"
    assert generic.body["task_id"] is None


def test_email_through_the_smtp_connection(smtp_server: SmtpServer, store: MemoryStore) -> None:
    store.set_connection(
        Connection(
            "smtp_default",
            "smtp",
            host=smtp_server.host,
            port=smtp_server.port,
            extra={"from_email": "headwater@example.com"},
        )
    )
    EmailNotifier(to="ops@example.com", cc=["lead@example.com"])(_dag_context())
    [mail] = smtp_server.received
    assert mail.rcpt_tos == ["ops@example.com", "lead@example.com"]
    assert mail.message["Subject"] == "[headwater] daily_sales failed"
    html = mail.html()
    assert '<th align="left">Reason</th><td>task failed: load</td>' in html
    assert f'<a href="{RUN_LINK.replace("&", "&amp;")}">View the run</a>' in html


def test_email_templates_and_a_named_connection(
    smtp_server: SmtpServer, store: MemoryStore
) -> None:
    store.set_connection(Connection("mail", "smtp", host=smtp_server.host, port=smtp_server.port))
    EmailNotifier(
        to="{{ params.owner }}",
        subject="{{ dag_id }} needs you",
        html_content="<p>{{ reason }}</p>",
        from_email="alerts@example.com",
        smtp_conn_id="mail",
    )(_dag_context(params={"owner": "ana@example.com"}))
    [mail] = smtp_server.received
    assert (mail.mail_from, mail.rcpt_tos) == ("alerts@example.com", ["ana@example.com"])
    assert mail.message["Subject"] == "daily_sales needs you"
    assert mail.html().strip() == "<p>task failed: load</p>"


def test_apprise_json_scheme_reaches_the_receiver(receiver: Receiver) -> None:
    AppriseNotifier(
        urls=[f"json://{receiver.host}:{receiver.port}/ok/apprise"],
        title="{{ dag_id }} alert",
    )(_dag_context())
    [post] = receiver.posts
    assert post.path == "/ok/apprise"
    assert post.body["title"] == "daily_sales alert"
    assert f"Run: {RUN_ID}" in post.body["message"]


def test_apprise_url_from_a_connection_and_a_bad_url(
    receiver: Receiver, store: MemoryStore, failures: list[NotificationFailure]
) -> None:
    store.set_connection(
        Connection("apprise", "apprise", password=f"json://{receiver.host}:{receiver.port}/ok/c")
    )
    AppriseNotifier(apprise_conn_id="apprise", body="{{ reason }}")(_dag_context())
    assert receiver.posts[0].body["message"] == "task failed: load"
    AppriseNotifier(urls="nosuchscheme://x")(_dag_context())
    [failure] = failures
    assert failure.detail == ("AppriseNotifier: Apprise cannot use the URL 'nosuchscheme://x'")
    assert failure.tries == 0


def test_a_deadline_miss_context_renders_the_default_message(receiver: Receiver) -> None:
    context = {
        "dag_id": "daily_sales",
        "run_id": RUN_ID,
        "deadline": "report_by_6am",
        "due_at": datetime(2024, 2, 1, 6, 0, 0, 941090, tzinfo=UTC),
        "missed_at": datetime(2024, 2, 1, 6, 0, 1, tzinfo=UTC),
        "reason": "the run was still running",
    }
    WebhookNotifier(url=f"{receiver.url}/ok/deadline")(context)
    body = receiver.posts[0].body
    assert body["title"] == "daily_sales missed deadline"
    assert "Deadline: report_by_6am (due 2024-02-01 06:00:00 UTC)" in body["text"]
    assert "Reason: the run was still running" in body["text"]


def test_retries_with_backoff_until_the_server_answers(
    receiver: Receiver, failures: list[NotificationFailure], caplog: pytest.LogCaptureFixture
) -> None:
    WebhookNotifier(url=f"{receiver.url}/flaky/twice/2")(_dag_context())
    assert len(receiver.posts) == 3
    assert failures == []
    retried = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert retried == [
        f"WebhookNotifier: try 1 of 3 failed (POST {receiver.url}/flaky/twice/2 "
        'answered 500: {"error": "failure 1 of 2"}), next in 0 s',
        f"WebhookNotifier: try 2 of 3 failed (POST {receiver.url}/flaky/twice/2 "
        'answered 500: {"error": "failure 2 of 2"}), next in 0 s',
    ]


def test_the_backoff_doubles_each_try(monkeypatch: pytest.MonkeyPatch) -> None:
    from headwater.notifications.delivery import longest_send_s, retry_delays
    from headwater.settings import load_settings

    monkeypatch.setenv("HEADWATER__NOTIFICATIONS__RETRY_DELAY_S", "1.5")
    monkeypatch.setenv("HEADWATER__NOTIFICATIONS__MAX_TRIES", "4")
    settings = load_settings().notifications
    assert retry_delays(settings) == [1.5, 3.0, 6.0]
    assert longest_send_s(settings) == 4 * 5.0 + 10.5


def test_the_waits_between_tries_follow_the_backoff(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headwater.notifications.delivery import deliver

    monkeypatch.setenv("HEADWATER__NOTIFICATIONS__RETRY_DELAY_S", "2")
    waits: list[float] = []
    sent = deliver(WebhookNotifier(url=f"{receiver.url}/fail"), _dag_context(), wait=waits.append)
    assert not sent
    assert waits == [2.0, 4.0]
    assert len(receiver.posts) == 3


def test_a_hanging_server_is_bounded_by_the_timeout(
    receiver: Receiver, failures: list[NotificationFailure], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER__NOTIFICATIONS__TIMEOUT_S", "0.2")
    monkeypatch.setenv("HEADWATER__NOTIFICATIONS__MAX_TRIES", "2")
    WebhookNotifier(url=f"{receiver.url}/hang")(_dag_context())  # returns: never raises
    assert len(receiver.posts) == 2
    [failure] = failures
    assert failure.detail == (
        f"WebhookNotifier: POST {receiver.url}/hang: no answer within 0.2 s (ReadTimeout)"
    )


def test_a_missing_connection_fails_once_without_retries(
    store: MemoryStore, failures: list[NotificationFailure]
) -> None:
    SlackWebhookNotifier(slack_webhook_conn_id="unset")(_dag_context())
    [failure] = failures
    assert failure.tries == 0
    assert failure.notifier == "SlackWebhookNotifier"
    assert "connection 'unset'" in failure.error


def test_a_secret_in_the_error_is_masked(
    receiver: Receiver, store: MemoryStore, failures: list[NotificationFailure]
) -> None:
    store.set_connection(
        Connection("hook", "slackwebhook", host=f"{receiver.url}/fail", password="T9/B9/sekrit-9")
    )
    SlackWebhookNotifier(slack_webhook_conn_id="hook")(_dag_context())
    [failure] = failures
    assert "sekrit-9" not in failure.detail
    assert f"POST {receiver.url}/fail/***" in failure.detail


def test_an_undefined_template_name_is_an_error_naming_the_field(
    receiver: Receiver, failures: list[NotificationFailure]
) -> None:
    WebhookNotifier(url=f"{receiver.url}/ok", body={"x": "{{ ti.task_id }}"})(_dag_context())
    [failure] = failures
    assert failure.error.startswith("cannot render 'body'")
    assert "'ti' is undefined" in failure.error
    assert receiver.posts == []


def test_a_custom_notifier(tmp_path: Path) -> None:
    written = tmp_path / "out.txt"

    class FileNotifier(BaseNotifier):
        template_fields = ("line",)

        def __init__(self, line: str | None = None) -> None:
            super().__init__()
            self.line = line

        def notify(self, context: dict[str, Any]) -> None:
            written.write_text(self.line or self.default_message(context).title)

    FileNotifier("{{ dag_id }}: {{ reason }}")(_dag_context())
    assert written.read_text() == "daily_sales: task failed: load"
    FileNotifier()(_dag_context(callback_kind="success"))
    assert written.read_text() == "daily_sales succeeded"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: WebhookNotifier(), "give exactly one of url and webhook_conn_id"),
        (lambda: WebhookNotifier(url="http://x", preset="teams2"), "preset 'teams2' is not"),
        (lambda: SlackNotifier(channel=""), "SlackNotifier: channel is empty"),
        (lambda: EmailNotifier(to=""), "EmailNotifier: to is empty"),
        (lambda: AppriseNotifier(), "give urls, config_path or apprise_conn_id"),
        (
            lambda: SlackWebhookNotifier(blocks=[1]),  # type: ignore[list-item]
            "blocks must be a list of dicts",
        ),
    ],
)
def test_bad_arguments_fail_when_the_dag_is_built(build: Any, message: str) -> None:
    with pytest.raises(NotificationError, match=message):
        build()


def test_a_bad_address_names_the_field(
    smtp_server: SmtpServer, store: MemoryStore, failures: list[NotificationFailure]
) -> None:
    store.set_connection(Connection("smtp_default", "smtp", host="127.0.0.1", port=1))
    EmailNotifier(to="ops@example.com", cc="not an address")(_dag_context())
    [failure] = failures
    assert "cc" in failure.error
    assert smtp_server.received == []


def test_the_public_api_is_what_all_says() -> None:
    import headwater.notifications as package

    assert sorted(package.__all__) == package.__all__
    for name in package.__all__:
        assert getattr(package, name) is not None
    json.dumps(package.__all__)
