"""SmtpHook: send HTML email, with attachments, through the SMTP server of a connection.

The connection gives ``host``, ``port`` (default 25, or 465 with SSL), ``login`` and
``password``, and in ``extra``: ``ssl`` (connect over TLS from the start), ``starttls``
(true: required, false: never; unset: used when the server offers it), ``timeout``
(seconds; default the ``[email] timeout_s`` setting) and ``from_email``. Used by
:class:`headwater.operators.EmailOperator` and by the failure and retry alert emails.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Iterable, Sequence
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from pathlib import Path
from typing import Any, ClassVar

from headwater.exceptions import HeadwaterError
from headwater.hooks.base import BaseHook, yes_or_no
from headwater.masking import redact_text
from headwater.secrets import Connection

EXTRA_KEYS = ("ssl", "starttls", "timeout", "from_email")
MAX_TIMEOUT_S = 600.0
MAX_RECIPIENTS = 500
"""Most addresses of one email (to, cc and bcc together): more is a mistake (a whole file
of addresses pasted in), refused before the server sees it."""
MAX_ATTACHMENTS_BYTES = 25 * 1024 * 1024
"""Most bytes of attachments one email carries, the limit most mail servers set anyway."""

MIME_SUBTYPES = ("mixed", "related", "alternative")

Recipients = str | Iterable[str]
"""Addresses as a list, or as one string separated by commas or semicolons."""


class SmtpHookError(HeadwaterError):
    """An SMTP connection, an address or an attachment is wrong, or sending failed."""


class SmtpHook(BaseHook):
    """Send email through the SMTP server of connection ``smtp_conn_id``.

    Example::

        SmtpHook("smtp_default").send_email(
            to="ops@example.com", subject="Daily report", html_content="<p>All good</p>"
        )
    """

    conn_type: ClassVar[str] = "smtp"
    hook_name: ClassVar[str] = "SMTP"
    conn_name_attr: ClassVar[str] = "smtp_conn_id"
    default_conn_name: ClassVar[str] = "smtp_default"

    def __init__(self, smtp_conn_id: str = "smtp_default") -> None:
        self.smtp_conn_id = smtp_conn_id
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = self.get_connection(self.smtp_conn_id)
            _check_extra(self._connection)
        return self._connection

    def get_conn(self) -> smtplib.SMTP:
        """A connected, logged-in SMTP client (call ``quit()`` when done)."""
        conn = self.connection
        where = f"connection {conn.conn_id!r}"
        if not conn.host:
            raise SmtpHookError(f"{where}: host is empty; set it to the SMTP server's host name")
        use_ssl = _flag(conn.extra, "ssl", where, default=False)
        starttls = _flag(conn.extra, "starttls", where, default=None)
        timeout = _timeout(conn, where)
        context = ssl.create_default_context()
        client: smtplib.SMTP
        port = conn.port or (465 if use_ssl else 25)
        try:
            if use_ssl:
                client = smtplib.SMTP_SSL(conn.host, port, timeout=timeout, context=context)
            else:
                client = smtplib.SMTP(conn.host, port, timeout=timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise SmtpHookError(
                f"{where}: cannot reach the SMTP server {conn.host}:{port}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        try:
            client.ehlo()
            if not use_ssl and (starttls or (starttls is None and client.has_extn("starttls"))):
                client.starttls(context=context)
                client.ehlo()
            if conn.login and conn.password:
                client.login(conn.login, conn.password)
        except (OSError, smtplib.SMTPException) as exc:
            client.close()
            raise SmtpHookError(
                redact_text(f"{where}: SMTP setup failed: {type(exc).__name__}: {exc}")
            ) from exc
        return client

    def send_email(
        self,
        to: Recipients,
        subject: str,
        html_content: str,
        files: Sequence[str | os.PathLike[str]] | None = None,
        cc: Recipients | None = None,
        bcc: Recipients | None = None,
        mime_subtype: str = "mixed",
        from_email: str | None = None,
    ) -> list[str]:
        """Send one HTML email; returns every address it went to (to, cc and bcc).

        Bcc addresses get the email without appearing in its headers. ``files`` are attached
        under their file names. ``from_email`` defaults to the connection's ``extra``
        ``from_email``, then the ``[email] from_email`` setting, then the connection's login.
        """
        to_list = parse_recipients(to, "to")
        if not to_list:
            raise SmtpHookError("to is empty: give at least one address")
        cc_list = parse_recipients(cc, "cc")
        bcc_list = parse_recipients(bcc, "bcc")
        everyone = list(dict.fromkeys([*to_list, *cc_list, *bcc_list]))
        if len(everyone) > MAX_RECIPIENTS:
            raise SmtpHookError(
                f"{len(everyone)} recipients; one email goes to at most {MAX_RECIPIENTS}"
            )
        if mime_subtype not in MIME_SUBTYPES:
            raise SmtpHookError(
                f"mime_subtype {mime_subtype!r} is not one of {', '.join(MIME_SUBTYPES)}"
            )
        sender = from_email or self._default_sender()
        message = build_message(
            sender, to_list, cc_list, subject, html_content, files or (), mime_subtype
        )
        client = self.get_conn()
        try:
            refused = client.send_message(message, from_addr=sender, to_addrs=everyone)
        except (OSError, smtplib.SMTPException) as exc:
            raise SmtpHookError(
                redact_text(
                    f"connection {self.smtp_conn_id!r}: sending {subject!r} failed: "
                    f"{type(exc).__name__}: {exc}"
                )
            ) from exc
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
        if refused:
            raise SmtpHookError(
                f"the SMTP server refused {', '.join(sorted(refused))} "
                f"(the other recipients got {subject!r})"
            )
        return everyone

    def _default_sender(self) -> str:
        conn = self.connection
        sender = str(conn.extra.get("from_email") or "")
        if not sender:
            from headwater.settings import load_settings

            sender = load_settings().email.from_email
        sender = sender or (conn.login or "")
        if "@" not in sender:
            raise SmtpHookError(
                f"no sender address: set from_email, the [email] from_email setting or the "
                f"extra from_email of connection {conn.conn_id!r} (its login {conn.login!r} "
                "is not an address)"
            )
        return sender

    def test_connection(self) -> tuple[bool, str]:
        """Connect, say hello (and log in): whether the server accepted us."""
        try:
            client = self.get_conn()
        except HeadwaterError as exc:
            return False, str(exc)
        try:
            code, _ = client.noop()
        finally:
            client.quit()
        return code == 250, f"SMTP server {self.connection.host} answered NOOP with {code}"


def parse_recipients(value: Recipients | None, field: str) -> list[str]:
    """Addresses from a list or a string separated by commas or semicolons; an entry that is
    not an address is an error naming ``field`` (``to``, ``cc``, ``bcc``, ``email``)."""
    if value is None:
        return []
    if isinstance(value, str):
        entries = value.replace(";", ",").split(",")
    else:
        entries = []
        for item in value:
            if not isinstance(item, str):
                raise SmtpHookError(f"{field}: addresses must be strings, got {item!r}")
            entries.extend(item.replace(";", ",").split(","))
    addresses = []
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        parsed = getaddresses([entry])
        if len(parsed) != 1 or "@" not in parsed[0][1] or any(c.isspace() for c in parsed[0][1]):
            raise SmtpHookError(f"{field}: {entry!r} is not an email address")
        addresses.append(entry)
    return addresses


def build_message(
    sender: str,
    to: Sequence[str],
    cc: Sequence[str],
    subject: str,
    html_content: str,
    files: Iterable[str | os.PathLike[str]],
    mime_subtype: str = "mixed",
) -> EmailMessage:
    """The MIME message: a ``multipart/<mime_subtype>`` holding the HTML body, then each file
    attached under its name. Bcc addresses never appear in it."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    message.set_content(html_content, subtype="html")
    getattr(message, f"make_{mime_subtype}")()
    total = 0
    for file in files:
        path = Path(file)
        if not path.is_file():
            raise SmtpHookError(f"files: attachment {os.fspath(file)!r} is not a file")
        total += path.stat().st_size
        if total > MAX_ATTACHMENTS_BYTES:
            raise SmtpHookError(
                f"files: attachments add up to more than {MAX_ATTACHMENTS_BYTES // 2**20} MiB "
                f"(at {path.name!r}); send a link instead"
            )
        part = EmailMessage()
        part.set_content(
            path.read_bytes(), maintype="application", subtype="octet-stream", filename=path.name
        )
        message.attach(part)
    return message


def _domain(sender: str) -> str:
    address = getaddresses([sender])[0][1]
    return address.rpartition("@")[2] or "headwater.local"


def _check_extra(conn: Connection) -> None:
    unknown = sorted(set(conn.extra or {}) - set(EXTRA_KEYS))
    if unknown:
        raise SmtpHookError(
            f"connection {conn.conn_id!r}: unknown extra field(s) "
            f"{', '.join(map(repr, unknown))}; an SMTP connection's extra takes "
            f"{', '.join(EXTRA_KEYS)}"
        )


def _flag(extra: dict[str, Any], key: str, where: str, *, default: bool | None) -> bool | None:
    """A yes/no ``extra`` field (:func:`~headwater.hooks.base.yes_or_no`), or ``default``."""
    value = extra.get(key)
    if value is None or value == "":
        return default
    flag = yes_or_no(value)
    if flag is None:
        raise SmtpHookError(f"{where}: extra {key} must be true or false, got {value!r}")
    return flag


def _timeout(conn: Connection, where: str) -> float:
    value = conn.extra.get("timeout")
    if value is None or value == "":
        from headwater.settings import load_settings

        return load_settings().email.timeout_s
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if isinstance(value, bool) or not 0 < seconds <= MAX_TIMEOUT_S:
        raise SmtpHookError(
            f"{where}: extra timeout must be a number of seconds above 0, at most "
            f"{MAX_TIMEOUT_S:g}, got {value!r}"
        )
    return seconds
