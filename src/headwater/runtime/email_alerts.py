"""Alert emails: when an attempt of a task with ``email`` set fails, the worker mails them.

``email_on_failure`` (the last try failed) and ``email_on_retry`` (a try failed and another
follows) choose which failures send one; both are on by default, as in Airflow. The email
goes through the ``[email] smtp_conn_id`` connection, with a subject and an HTML body
rendered from Jinja templates (built-in ones, or the files the ``[email] subject_template``
and ``html_content_template`` settings name) that name the DAG, task, run, try, log file, the
attempt's page in the UI and the exception, secrets masked. Sending is best effort: a failure
to send is one line in the attempt log and never changes how the attempt ended.
"""

from __future__ import annotations

import functools
import logging
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.masking import redact_text

if TYPE_CHECKING:
    import jinja2

    from headwater.authoring.operator import BaseOperator
    from headwater.engine.records import TaskInstance
    from headwater.runtime.logs import AttemptLog
    from headwater.settings import Settings

DEFAULT_SUBJECT = (
    "Headwater alert: {{ dag_id }}.{{ task_label }} "
    "{{ 'failed, will retry' if will_retry else 'failed' }} "
    "(try {{ try_number }} of {{ max_tries }}, run {{ run_id }})"
)

DEFAULT_HTML = """\
<html><body>
<h2>{{ dag_id }}.{{ task_label }}
{{ 'failed and will be retried' if will_retry else 'failed' }}</h2>
<table>
<tr><th align="left">DAG</th><td>{{ dag_id }}</td></tr>
<tr><th align="left">Task</th><td>{{ task_label }}</td></tr>
<tr><th align="left">Run</th><td>{{ run_id }}</td></tr>
{% if ds is defined %}<tr><th align="left">Logical date</th><td>{{ ds }}</td></tr>
{% endif %}<tr><th align="left">Try</th><td>{{ try_number }} of {{ max_tries }}</td></tr>
<tr><th align="left">Host</th><td>{{ hostname }}</td></tr>
<tr><th align="left">Log</th><td>{{ log_path }}</td></tr>
</table>
<p><a href="{{ log_url }}">View the log</a></p>
<h3>Exception</h3>
<pre>{{ exception }}</pre>
</body></html>
"""

MAX_EXCEPTION_CHARS = 4000
"""The exception's text in the email stops here: the whole traceback is in the log."""


def send_attempt_alert(
    task: BaseOperator,
    ti: TaskInstance,
    context: dict[str, Any],
    exc: BaseException,
    *,
    will_retry: bool,
    attempt_log: AttemptLog,
) -> None:
    """Mail the task's ``email`` addresses about this failed attempt, if the task asks for
    it; the outcome of the attempt stays what it was whatever happens here."""
    addresses = getattr(task, "email", None)
    wanted = getattr(task, "email_on_retry" if will_retry else "email_on_failure", True)
    if not addresses or not wanted:
        return
    kind = "retry" if will_retry else "failure"
    try:
        from headwater.hooks.smtp import SmtpHook
        from headwater.settings import load_settings

        settings = load_settings()
        subject, html = render_alert(settings, ti, context, exc, will_retry=will_retry)
        sent = SmtpHook(settings.email.smtp_conn_id).send_email(
            to=addresses, subject=subject, html_content=html
        )
    except Exception as error:
        attempt_log.line(
            logging.ERROR,
            redact_text(
                f"Could not send the {kind} alert email to {', '.join(addresses)}: "
                f"{type(error).__name__}: {error}"
            ),
        )
        return
    attempt_log.line(logging.INFO, f"Sent the {kind} alert email to {', '.join(sent)}")


def render_alert(
    settings: Settings,
    ti: TaskInstance,
    context: dict[str, Any],
    exc: BaseException,
    *,
    will_retry: bool,
) -> tuple[str, str]:
    """The alert's subject (one line) and HTML body, secrets masked."""
    from headwater.notifications.ui_links import attempt_url, ui_base_url
    from headwater.runtime.logs import attempt_log_path

    exception = redact_text(f"{type(exc).__name__}: {exc}")
    if len(exception) > MAX_EXCEPTION_CHARS:
        exception = exception[:MAX_EXCEPTION_CHARS] + " ... (the rest is in the log)"
    values = {
        **context,
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "task_label": ti.key.label,
        "run_id": ti.run_id,
        "map_index": ti.map_index,
        "try_number": ti.try_number,
        "max_tries": ti.max_tries,
        "will_retry": will_retry,
        "exception": exception,
        "exception_type": type(exc).__name__,
        "log_path": attempt_log_path(settings.logs_folder, ti.key, ti.try_number),
        "log_url": attempt_url(
            ui_base_url(settings),
            ti.dag_id,
            ti.run_id,
            ti.task_id,
            map_index=ti.map_index,
            try_number=ti.try_number,
        ),
        "hostname": socket.gethostname(),
    }
    email = settings.email
    subject_source = _template_text(email.subject_template, "subject_template", DEFAULT_SUBJECT)
    html_source = _template_text(email.html_content_template, "html_content_template", DEFAULT_HTML)
    subject = _environment(html=False).from_string(subject_source).render(values)
    html = _environment(html=True).from_string(html_source).render(values)
    # A header is one line; a template's stray newline must not start a second one.
    subject = " ".join(subject.split())
    return redact_text(subject), redact_text(html)


def _template_text(path: str, setting: str, default: str) -> str:
    if not path:
        return default
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OSError(f"email.{setting} {path}: cannot read the template: {exc}") from None


@functools.cache
def _environment(*, html: bool) -> jinja2.Environment:
    """Jinja for alerts (imported only when one is sent): the HTML body is escaped."""
    import jinja2

    return jinja2.Environment(autoescape=html, undefined=jinja2.StrictUndefined)
