"""``WebhookNotifier``: POST a JSON body to any URL (Microsoft Teams, Discord, PagerDuty,
your own service), with headers and a Jinja-templated body."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from headwater.masking import mask_secret
from headwater.notifications.base import BaseNotifier, Context, NotificationError
from headwater.notifications.http_sending import (
    connection_base_url,
    lookup_connection,
    post_json,
)
from headwater.notifications.messages import link_label

PRESETS = ("generic", "teams", "discord")
"""Shapes of the default body: ``generic`` (the message's fields), ``teams`` (an Adaptive
Card for a Teams incoming webhook / Workflows), ``discord`` (a Discord webhook's content)."""

DISCORD_MAX_CHARS = 2000


class WebhookNotifier(BaseNotifier):
    """POST JSON to ``url``, or to the URL of connection ``webhook_conn_id`` (its ``host``
    with scheme and port, plus ``extra.endpoint``; ``extra.headers`` and ``extra.token``, a
    bearer token, are sent as headers).

    ``body`` is a template: a dict or list whose strings are rendered, or a string rendered
    then parsed as JSON. Without one, ``preset`` shapes the default message.

    Example::

        WebhookNotifier(
            webhook_conn_id="teams_alerts",
            preset="teams",
        )
        WebhookNotifier(
            url="https://events.example.com/hooks/airflow",
            body={"summary": "{{ notification.title }}", "link": "{{ notification.url }}"},
            headers={"X-Source": "headwater"},
        )
    """

    template_fields = ("url", "body", "headers")

    def __init__(
        self,
        *,
        url: str | None = None,
        webhook_conn_id: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        preset: str = "generic",
    ) -> None:
        super().__init__()
        if bool(url) == bool(webhook_conn_id):
            raise NotificationError("WebhookNotifier: give exactly one of url and webhook_conn_id")
        if preset not in PRESETS:
            raise NotificationError(
                f"WebhookNotifier: preset {preset!r} is not one of {', '.join(PRESETS)}"
            )
        if headers is not None and not isinstance(headers, Mapping):
            raise NotificationError("WebhookNotifier: headers must be a dict of names to values")
        self.url = url
        self.webhook_conn_id = webhook_conn_id
        self.body = body
        self.headers = dict(headers or {})
        self.preset = preset
        self._target = ""
        self._sent_headers: dict[str, str] = {}

    def prepare(self) -> None:
        headers: dict[str, str] = {}
        if self.webhook_conn_id:
            conn = lookup_connection(self.webhook_conn_id)
            extra = conn.extra or {}
            endpoint = str(extra.get("endpoint") or "")
            target = connection_base_url(conn)
            if endpoint:
                target = f"{target}/{endpoint.lstrip('/')}"
            raw = extra.get("headers") or {}
            if not isinstance(raw, Mapping):
                raise NotificationError(
                    f"WebhookNotifier: connection {conn.conn_id!r}: extra headers must be an "
                    "object of names to values"
                )
            headers.update({str(k): str(v) for k, v in raw.items()})
            mask_secret(headers, name="headers")
            if extra.get("token"):
                mask_secret(str(extra["token"]))
                headers["Authorization"] = f"Bearer {extra['token']}"
        else:
            target = str(self.url)
            if not target.startswith(("http://", "https://")):
                raise NotificationError(
                    f"WebhookNotifier: url {target!r} must start with http:// or https://"
                )
        headers.update({str(k): str(v) for k, v in self.headers.items()})
        self._target = target
        self._sent_headers = headers

    def payload(self, context: Context) -> Any:
        """The JSON body to send: ``body`` as rendered, else the preset's default."""
        if self.body is None:
            return default_body(self.preset, self, context)
        if isinstance(self.body, str):
            try:
                return json.loads(self.body)
            except json.JSONDecodeError as exc:
                raise NotificationError(
                    f"WebhookNotifier: body rendered to text that is not JSON: {exc}"
                ) from None
        return self.body

    def notify(self, context: Context) -> None:
        post_json(
            self._target,
            self.payload(context),
            timeout_s=self.settings.notifications.timeout_s,
            headers=self._sent_headers,
        )


def default_body(preset: str, notifier: BaseNotifier, context: Context) -> Any:
    """The default message shaped for ``preset`` (see :data:`PRESETS`)."""
    message = notifier.default_message(context)
    if preset == "discord":
        return {"content": f"**{message.title}**\n{message.text}"[:DISCORD_MAX_CHARS]}
    if preset == "teams":
        facts = [
            {"title": line.split(": ", 1)[0], "value": line.split(": ", 1)[1]}
            for line in message.text.splitlines()
            if ": " in line and not line.startswith("Log:")
        ]
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {"type": "TextBlock", "text": message.title, "weight": "Bolder", "wrap": True},
                {"type": "FactSet", "facts": facts},
            ],
            "actions": [
                {"type": "Action.OpenUrl", "title": link_label(message), "url": message.url}
            ],
        }
        return {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
            ],
        }
    return message.as_dict()
