"""SmtpHook and EmailOperator against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from local_servers import PASSWORD, USER, SmtpServer

from headwater import DAG
from headwater.exceptions import DagDefinitionError
from headwater.hooks.registry import hook_class
from headwater.hooks.smtp import SmtpHook, SmtpHookError
from headwater.masking import forget_secrets
from headwater.operators import EmailOperator
from headwater.secrets import Connection, use_metastore
from headwater.testing import MemoryStore, run_dag

DAY = datetime(2024, 1, 31, tzinfo=UTC)


def _smtp(server: SmtpServer, conn_id: str = "smtp_default", **fields: Any) -> Connection:
    values: dict[str, Any] = {"conn_type": "smtp", "host": server.host, "port": server.port}
    values.update(fields)
    values.setdefault("extra", {"from_email": "headwater@example.com"})
    return Connection(conn_id, **values)


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    store = MemoryStore()
    with use_metastore(store):
        yield store
    forget_secrets()


def test_the_registry_serves_smtp_connections_with_this_hook() -> None:
    assert hook_class("smtp") is SmtpHook


def test_send_email_with_cc_bcc_and_an_attachment(
    smtp_server: SmtpServer, store: MemoryStore, tmp_path: Path
) -> None:
    store.set_connection(_smtp(smtp_server, login=USER, password=PASSWORD))
    report = tmp_path / "report.csv"
    report.write_text("store,orders\nlyon,4\n")
    sent = SmtpHook().send_email(
        to="a@example.com; b@example.com",
        subject="Orders",
        html_content="<p>See <b>attached</b></p>",
        files=[report],
        cc=["c@example.com"],
        bcc="hidden@example.com",
    )
    assert sent == ["a@example.com", "b@example.com", "c@example.com", "hidden@example.com"]
    [mail] = smtp_server.received
    assert smtp_server.logins == [USER]
    assert mail.mail_from == "headwater@example.com"
    assert mail.rcpt_tos == sent
    message = mail.message
    assert message["Subject"] == "Orders"
    assert message["From"] == "headwater@example.com"
    assert message["To"] == "a@example.com, b@example.com"
    assert message["Cc"] == "c@example.com"
    assert message["Bcc"] is None
    assert "hidden@example.com" not in message.as_string()
    assert message.get_content_type() == "multipart/mixed"
    assert mail.html() == "<p>See <b>attached</b></p>\n"
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == "report.csv"
    assert attachment.get_content() == b"store,orders\nlyon,4\n"


def test_the_sender_falls_back_to_the_setting_then_the_login(
    smtp_server: SmtpServer, store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No password: the hook does not log in, and the login only names the sender.
    store.set_connection(_smtp(smtp_server, extra={}, login="robot@example.com"))
    SmtpHook().send_email("a@example.com", "one", "<p>1</p>")
    monkeypatch.setenv("HEADWATER__EMAIL__FROM_EMAIL", "alerts@example.com")
    SmtpHook().send_email("a@example.com", "two", "<p>2</p>")
    SmtpHook().send_email("a@example.com", "three", "<p>3</p>", from_email="me@example.com")
    assert [m.mail_from for m in smtp_server.received] == [
        "robot@example.com",
        "alerts@example.com",
        "me@example.com",
    ]


def test_no_sender_address_is_a_clear_error(smtp_server: SmtpServer, store: MemoryStore) -> None:
    store.set_connection(_smtp(smtp_server, extra={}, login="robot"))
    with pytest.raises(
        SmtpHookError,
        match=r"no sender address: set from_email, .* \(its login 'robot' is not an address\)$",
    ):
        SmtpHook().send_email("a@example.com", "s", "<p></p>")
    assert smtp_server.received == []


def test_a_wrong_password_fails_with_the_password_masked(
    smtp_server: SmtpServer, store: MemoryStore
) -> None:
    store.set_connection(_smtp(smtp_server, login=USER, password="wrong-password"))
    with pytest.raises(SmtpHookError) as raised:
        SmtpHook().send_email("a@example.com", "s", "<p></p>")
    message = str(raised.value)
    assert message.startswith(
        "connection 'smtp_default': SMTP setup failed: SMTPAuthenticationError"
    )
    assert "wrong-password" not in message
    assert smtp_server.received == []


def test_starttls_required_but_not_offered_fails_clearly(
    smtp_server: SmtpServer, store: MemoryStore
) -> None:
    store.set_connection(
        _smtp(smtp_server, extra={"starttls": "true", "from_email": "h@example.com"})
    )
    with pytest.raises(
        SmtpHookError,
        match="SMTP setup failed: SMTPNotSupportedError: STARTTLS extension not supported by server",
    ):
        SmtpHook().send_email("a@example.com", "s", "<p></p>")


def test_an_unreachable_server_is_named(store: MemoryStore) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store.set_connection(Connection("smtp_default", "smtp", host="127.0.0.1", port=port))
    with pytest.raises(
        SmtpHookError,
        match=rf"cannot reach the SMTP server 127\.0\.0\.1:{port}: ConnectionRefusedError",
    ):
        SmtpHook().send_email("a@example.com", "s", "<p></p>", from_email="h@example.com")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"to": ""}, "to is empty: give at least one address"),
        ({"to": "ops"}, "to: 'ops' is not an email address"),
        (
            {"cc": ["ok@example.com", "not an address"]},
            "cc: 'not an address' is not an email address",
        ),
        ({"bcc": [3]}, "bcc: addresses must be strings, got 3"),
        ({"files": ["/no/such/file.csv"]}, "files: attachment '/no/such/file.csv' is not a file"),
        (
            {"mime_subtype": "plain"},
            "mime_subtype 'plain' is not one of mixed, related, alternative",
        ),
    ],
)
def test_bad_email_arguments_are_named(
    smtp_server: SmtpServer, store: MemoryStore, kwargs: dict[str, Any], message: str
) -> None:
    store.set_connection(_smtp(smtp_server))
    arguments: dict[str, Any] = {"to": "a@example.com", "subject": "s", "html_content": "<p></p>"}
    arguments.update(kwargs)
    with pytest.raises(SmtpHookError) as raised:
        SmtpHook().send_email(**arguments)
    assert str(raised.value) == message
    assert smtp_server.received == []


def test_unknown_extra_fields_are_named(smtp_server: SmtpServer, store: MemoryStore) -> None:
    store.set_connection(_smtp(smtp_server, extra={"tls": "yes"}))
    with pytest.raises(
        SmtpHookError,
        match=r"connection 'smtp_default': unknown extra field\(s\) 'tls'; an SMTP connection's extra takes ssl, starttls, timeout, from_email",
    ):
        SmtpHook().send_email("a@example.com", "s", "<p></p>")


def test_test_connection(smtp_server: SmtpServer, store: MemoryStore) -> None:
    store.set_connection(_smtp(smtp_server, login=USER, password=PASSWORD))
    assert SmtpHook().test_connection() == (True, "SMTP server 127.0.0.1 answered NOOP with 250")


def test_email_operator_renders_a_template_file_and_sends_it(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    (tmp_path / "report.html").write_text("<h1>Report of {{ ds }}</h1><p>{{ params.team }}</p>")
    attachment = tmp_path / "2024-01-31.csv"
    attachment.write_text("a,b\n")
    with DAG(
        "mailer",
        start_date=DAY,
        schedule=None,
        template_searchpath=[str(tmp_path)],
        params={"team": "data"},
    ) as dag:
        EmailOperator(
            task_id="send",
            to=["{{ params.team }}@example.com", "boss@example.com"],
            subject="Report {{ ds }}",
            html_content="report.html",
            files=[str(tmp_path / "{{ ds }}.csv")],
            bcc="audit@example.com",
            conn_id="mail",
        )
    store = MemoryStore()
    store.set_connection(_smtp(smtp_server, "mail"))
    result = run_dag(dag, logical_date=DAY, store=store)
    assert result.succeeded, result.attempts("send")[0].error
    [mail] = smtp_server.received
    assert mail.rcpt_tos == ["data@example.com", "boss@example.com", "audit@example.com"]
    assert mail.message["Subject"] == "Report 2024-01-31"
    assert mail.message["To"] == "data@example.com, boss@example.com"
    assert mail.html() == "<h1>Report of 2024-01-31</h1><p>data</p>\n"
    assert [a.get_filename() for a in mail.message.iter_attachments()] == ["2024-01-31.csv"]
    assert "Sent 'Report 2024-01-31' to data@example.com, boss@example.com and 1 bcc" in result.log(
        "send"
    )
    assert result.rendered("send")["subject"] == "Report 2024-01-31"


def test_email_operator_uses_the_smtp_conn_id_setting(
    smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER__EMAIL__SMTP_CONN_ID", "office_mail")
    with DAG("mailer2", start_date=DAY, schedule=None) as dag:
        EmailOperator(task_id="send", to="a@example.com", subject="hi", html_content="<p>hi</p>")
    store = MemoryStore()
    store.set_connection(_smtp(smtp_server, "office_mail"))
    assert run_dag(dag, logical_date=DAY, store=store).succeeded
    assert [m.message["Subject"] for m in smtp_server.received] == ["hi"]


def test_email_operator_with_a_bad_rendered_address_fails_the_task(smtp_server: SmtpServer) -> None:
    with DAG("mailer3", start_date=DAY, schedule=None) as dag:
        EmailOperator(task_id="send", to="{{ params.who }}", subject="s", html_content="<p></p>")
    store = MemoryStore()
    store.set_connection(_smtp(smtp_server))
    result = run_dag(dag, logical_date=DAY, store=store, conf={"who": "nobody"})
    assert result.attempts("send")[0].error == "SmtpHookError: to: 'nobody' is not an email address"
    assert smtp_server.received == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"subject": None}, "task 'x': subject must be text, got None"),
        ({"files": "one.csv"}, "task 'x': files must be a list of paths, got 'one.csv'"),
        ({"mime_subtype": "plain"}, "task 'x': mime_subtype 'plain' is not one of"),
    ],
)
def test_bad_operator_arguments_fail_when_the_dag_is_built(
    kwargs: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"to": "a@example.com", "subject": "s", "html_content": "<p></p>"}
    arguments.update(kwargs)
    with pytest.raises(DagDefinitionError, match=message):
        EmailOperator(task_id="x", **arguments)
