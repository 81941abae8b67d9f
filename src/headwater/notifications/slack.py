"""Slack: :class:`SlackWebhookNotifier` (an incoming webhook) and :class:`SlackNotifier`
(the Web API's ``chat.postMessage`` with a bot token)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from headwater.notifications.base import BaseNotifier, Context, NotificationError
from headwater.notifications.http_sending import (
    connection_base_url,
    lookup_connection,
    post_json,
)
from headwater.notifications.messages import link_label
from headwater.secrets import Connection

SLACK_WEBHOOK_HOST = "https://hooks.slack.com/services"
SLACK_API_HOST = "https://slack.com/api"


def _check_blocks(blocks: Any, notifier: str) -> list[dict[str, Any]] | None:
    if blocks is None:
        return None
    if not isinstance(blocks, list | tuple) or not all(isinstance(b, dict) for b in blocks):
        raise NotificationError(f"{notifier}: blocks must be a list of dicts (Block Kit)")
    return list(blocks)


class SlackWebhookNotifier(BaseNotifier):
    """Post to a Slack incoming webhook.

    The connection ``slack_webhook_conn_id`` gives the webhook: its ``password`` is the
    webhook's token path (``T000/B000/XXXX``) or its whole URL; ``host`` defaults to
    ``https://hooks.slack.com/services`` (set it to reach another server). ``text`` and
    ``blocks`` (Block Kit) are templates; without either, the default message is sent.

    Example::

        on_failure_callback = SlackWebhookNotifier(
            slack_webhook_conn_id="slack_alerts",
            text=":red_circle: {{ notification.title }} <{{ notification.url }}|log>",
        )
    """

    template_fields = ("text", "blocks", "channel", "username")

    def __init__(
        self,
        *,
        slack_webhook_conn_id: str = "slack_default",
        text: str | None = None,
        blocks: Sequence[dict[str, Any]] | None = None,
        channel: str | None = None,
        username: str | None = None,
        icon_emoji: str | None = None,
    ) -> None:
        super().__init__()
        if not slack_webhook_conn_id:
            raise NotificationError("SlackWebhookNotifier: slack_webhook_conn_id is empty")
        self.slack_webhook_conn_id = slack_webhook_conn_id
        self.text = text
        self.blocks = _check_blocks(blocks, "SlackWebhookNotifier")
        self.channel = channel
        self.username = username
        self.icon_emoji = icon_emoji
        self._url = ""

    def prepare(self) -> None:
        conn = lookup_connection(self.slack_webhook_conn_id)
        self._url = webhook_url(conn)

    def payload(self, context: Context) -> dict[str, Any]:
        """The JSON body Slack receives."""
        body: dict[str, Any] = {"text": self.text or _slack_text(self, context)}
        if self.blocks:
            body["blocks"] = self.blocks
        for name in ("channel", "username", "icon_emoji"):
            if getattr(self, name):
                body[name] = getattr(self, name)
        return body

    def notify(self, context: Context) -> None:
        post_json(self._url, self.payload(context), timeout_s=self.settings.notifications.timeout_s)


def webhook_url(conn: Connection) -> str:
    """The incoming webhook's URL from its connection (see :class:`SlackWebhookNotifier`)."""
    token = (conn.password or "").strip()
    if token.startswith(("http://", "https://")):
        return token
    if not token:
        raise NotificationError(
            f"connection {conn.conn_id!r}: password is empty; set it to the webhook's "
            "token path (T000/B000/XXXX) or its URL"
        )
    return f"{connection_base_url(conn, SLACK_WEBHOOK_HOST)}/{token.lstrip('/')}"


class SlackNotifier(BaseNotifier):
    """Post with the Slack Web API (``chat.postMessage``) as a bot.

    The connection ``slack_conn_id`` gives the bot token (``password``, ``xoxb-...``) and,
    in ``host``, the API's address (default ``https://slack.com/api``). ``channel`` is a
    channel name or id; ``text`` and ``blocks`` are templates (default message without).

    Example::

        on_failure_callback = SlackNotifier(slack_conn_id="slack_bot", channel="#data-alerts")
    """

    template_fields = ("text", "blocks", "channel")

    def __init__(
        self,
        *,
        channel: str,
        slack_conn_id: str = "slack_api_default",
        text: str | None = None,
        blocks: Sequence[dict[str, Any]] | None = None,
        username: str | None = None,
        icon_emoji: str | None = None,
    ) -> None:
        super().__init__()
        if not channel:
            raise NotificationError("SlackNotifier: channel is empty")
        if not slack_conn_id:
            raise NotificationError("SlackNotifier: slack_conn_id is empty")
        self.channel = channel
        self.slack_conn_id = slack_conn_id
        self.text = text
        self.blocks = _check_blocks(blocks, "SlackNotifier")
        self.username = username
        self.icon_emoji = icon_emoji
        self._base_url = ""
        self._token = ""

    def prepare(self) -> None:
        conn = lookup_connection(self.slack_conn_id)
        if not conn.password:
            raise NotificationError(
                f"SlackNotifier: connection {conn.conn_id!r}: password is empty; set it to "
                "the bot token (xoxb-...)"
            )
        self._token = conn.password
        self._base_url = connection_base_url(conn, SLACK_API_HOST)

    def payload(self, context: Context) -> dict[str, Any]:
        body: dict[str, Any] = {
            "channel": self.channel,
            "text": self.text or _slack_text(self, context),
        }
        if self.blocks:
            body["blocks"] = self.blocks
        for name in ("username", "icon_emoji"):
            if getattr(self, name):
                body[name] = getattr(self, name)
        return body

    def notify(self, context: Context) -> None:
        answer = post_json(
            f"{self._base_url}/chat.postMessage",
            self.payload(context),
            timeout_s=self.settings.notifications.timeout_s,
            headers={"Authorization": f"Bearer {self._token}"},
        )
        # The Web API answers 200 with {"ok": false, "error": ...} for its own errors.
        if not isinstance(answer, dict) or not answer.get("ok"):
            error = answer.get("error") if isinstance(answer, dict) else answer
            raise NotificationError(f"Slack chat.postMessage refused the message: {error}")


def _slack_text(notifier: BaseNotifier, context: Context) -> str:
    """The default message in Slack's markup: a bold title, the details, a link."""
    message = notifier.default_message(context)
    details = "\n".join(line for line in message.text.splitlines() if not line.startswith("Log:"))
    return f"*{message.title}*\n{details}\n<{message.url}|{link_label(message)}>"
