"""``EmailNotifier``: an HTML email through the SMTP connection of the integrations
(:class:`headwater.hooks.smtp.SmtpHook`)."""

from __future__ import annotations

import dataclasses
import html
from typing import Any

from headwater.hooks.smtp import Recipients, SmtpHook, parse_recipients
from headwater.notifications.base import BaseNotifier, Context, NotificationError
from headwater.notifications.messages import link_label
from headwater.secrets import Connection


class EmailNotifier(BaseNotifier):
    """Mail ``to`` (and ``cc``, ``bcc``) through connection ``smtp_conn_id`` (default: the
    ``[email] smtp_conn_id`` setting). ``subject`` and ``html_content`` are templates;
    without them the default message is sent. Each try waits at most the notification
    timeout, unless the connection's ``extra.timeout`` is shorter.

    Example::

        on_failure_callback = EmailNotifier(
            to="oncall@example.com",
            subject="[headwater] {{ notification.title }}",
        )
    """

    template_fields = ("to", "cc", "bcc", "subject", "html_content")

    def __init__(
        self,
        *,
        to: Recipients,
        subject: str | None = None,
        html_content: str | None = None,
        cc: Recipients | None = None,
        bcc: Recipients | None = None,
        from_email: str | None = None,
        smtp_conn_id: str | None = None,
    ) -> None:
        super().__init__()
        if not to:
            raise NotificationError("EmailNotifier: to is empty: give at least one address")
        self.to = to
        self.cc = cc
        self.bcc = bcc
        self.subject = subject
        self.html_content = html_content
        self.from_email = from_email
        self.smtp_conn_id = smtp_conn_id
        self._hook: _PreparedSmtpHook | None = None

    def prepare(self) -> None:
        for name in ("to", "cc", "bcc"):  # bad addresses are errors naming the field
            parse_recipients(getattr(self, name), name)
        conn_id = self.smtp_conn_id or self.settings.email.smtp_conn_id
        hook = _PreparedSmtpHook(conn_id)
        conn = SmtpHook.get_connection(conn_id)
        timeout = self.settings.notifications.timeout_s
        given = conn.extra.get("timeout")
        if given is None or float(given) > timeout:
            conn = dataclasses.replace(conn, extra={**conn.extra, "timeout": timeout})
        hook.prepared = conn
        hook.sender = self.from_email or hook._default_sender()
        self._hook = hook

    def notify(self, context: Context) -> None:
        if self._hook is None:
            raise NotificationError("EmailNotifier: notify() before prepare()")
        message = self.default_message(context)
        self._hook.send_email(
            to=self.to,
            cc=self.cc,
            bcc=self.bcc,
            subject=self.subject or f"[headwater] {message.title}",
            html_content=self.html_content or default_html(message.as_dict()),
            from_email=self._hook.sender,
        )


class _PreparedSmtpHook(SmtpHook):
    """An SmtpHook with its connection looked up already (in the caller's thread)."""

    prepared: Connection | None = None
    sender: str = ""

    @property
    def connection(self) -> Connection:
        if self.prepared is None:
            return super().connection
        return self.prepared


def default_html(message: dict[str, Any]) -> str:
    """The default message as a small HTML page (every value escaped)."""
    rows = "".join(
        f'<tr><th align="left">{html.escape(key)}</th><td>{html.escape(value)}</td></tr>'
        for key, value in (line.split(": ", 1) for line in message["text"].splitlines())
        if key != "Log"
    )
    url = html.escape(message["url"], quote=True)
    return (
        f"<html><body><h2>{html.escape(message['title'])}</h2><table>{rows}</table>"
        f'<p><a href="{url}">{link_label(message)}</a></p></body></html>'
    )
