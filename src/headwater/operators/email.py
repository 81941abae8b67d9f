"""EmailOperator: send an HTML email, with attachments, as a task."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from headwater.authoring.operator import BaseOperator
from headwater.exceptions import DagDefinitionError
from headwater.hooks.smtp import MIME_SUBTYPES, Recipients, SmtpHook, parse_recipients


class EmailOperator(BaseOperator):
    """Send an email through the SMTP connection ``conn_id`` (default: the ``[email]
    smtp_conn_id`` setting).

    Example::

        EmailOperator(
            task_id="send_report",
            to="team@example.com; boss@example.com",
            subject="Sales of {{ ds }}",
            html_content="report.html",  # a template file next to the DAG file
            files=["/srv/reports/{{ ds }}.csv"],
        )

    ``to``, ``cc`` and ``bcc`` take a list or one string separated by commas or semicolons;
    bcc addresses get the email without appearing in it. ``to``, ``subject``,
    ``html_content`` and ``files`` are templates, and an ``html_content`` ending in ``.html``
    is read from a file next to the DAG file (or in the DAG's ``template_searchpath``).
    """

    template_fields: Sequence[str] = ("to", "subject", "html_content", "files", "cc", "bcc")
    template_ext: Sequence[str] = (".html",)
    ui_color = "#e6faf9"

    def __init__(
        self,
        *,
        to: Recipients,
        subject: str,
        html_content: str,
        files: Sequence[str | os.PathLike[str]] | None = None,
        cc: Recipients | None = None,
        bcc: Recipients | None = None,
        mime_subtype: str = "mixed",
        conn_id: str | None = None,
        from_email: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        where = f"task {self.task_id!r}"
        for name, value in (("subject", subject), ("html_content", html_content)):
            if not isinstance(value, str):
                raise DagDefinitionError(f"{where}: {name} must be text, got {value!r:.80}")
        if mime_subtype not in MIME_SUBTYPES:
            raise DagDefinitionError(
                f"{where}: mime_subtype {mime_subtype!r} is not one of {', '.join(MIME_SUBTYPES)}"
            )
        if isinstance(files, str | os.PathLike):
            raise DagDefinitionError(f"{where}: files must be a list of paths, got {files!r:.80}")
        self.to = to
        self.subject = subject
        self.html_content = html_content
        self.files = [os.fspath(f) for f in files] if files is not None else None
        self.cc = cc
        self.bcc = bcc
        self.mime_subtype = mime_subtype
        self.conn_id = conn_id
        self.from_email = from_email

    def execute(self, context: dict[str, Any]) -> None:
        conn_id = self.conn_id
        if conn_id is None:
            from headwater.settings import load_settings

            conn_id = load_settings().email.smtp_conn_id
        SmtpHook(conn_id).send_email(
            to=self.to,
            subject=self.subject,
            html_content=self.html_content,
            files=self.files,
            cc=self.cc,
            bcc=self.bcc,
            mime_subtype=self.mime_subtype,
            from_email=self.from_email,
        )
        shown = [*parse_recipients(self.to, "to"), *parse_recipients(self.cc, "cc")]
        hidden = len(parse_recipients(self.bcc, "bcc"))
        also = f" and {hidden} bcc" if hidden else ""
        context["ti"].log.info("Sent %r to %s%s", self.subject, ", ".join(shown), also)
