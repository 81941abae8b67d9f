"""A real SMTP server (aiosmtpd) on 127.0.0.1, on a free port, and the emails it accepted:
for the email operator and alert tests, the notifier tests and the operations journey."""

from __future__ import annotations

import contextlib
import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any


@dataclass
class Received:
    """One email the SMTP server accepted: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None, self.message.as_string()[:500]
        text: str = part.get_content()
        return text.replace("\r\n", "\n")


@dataclass
class SmtpServer:
    host: str
    port: int
    received: list[Received]
    logins: list[str] = field(default_factory=list)


class _Handler:
    def __init__(self, received: list[Received]) -> None:
        self.received = received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running_smtp_server(login: tuple[str, str] | None = None) -> Iterator[SmtpServer]:
    """The server, stopped when the block ends. ``login``: it accepts AUTH with this user
    and password (without TLS) and records each login; None: no AUTH."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    received: list[Received] = []
    logins: list[str] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (
            login is not None
            and isinstance(data, LoginPassword)
            and (data.login, data.password) == (login[0].encode(), login[1].encode())
        )
        if ok:
            logins.append(data.login.decode())
        # Not handled: aiosmtpd answers a failure with 535 itself.
        return AuthResult(success=ok, handled=False)

    options: dict[str, Any] = {}
    if login is not None:
        options = {"authenticator": authenticator, "auth_require_tls": False}
    controller = Controller(_Handler(received), hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", controller.port, received, logins)
    finally:
        controller.stop()
