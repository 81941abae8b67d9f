"""The default message of a notification, built from a callback's context.

Task callbacks get the attempt's context (``ti``, ``task``, ``dag_run``, ``exception``...);
DAG callbacks and deadline misses get a context without task keys. :func:`describe` reads
whatever is there and never fails on what is missing, so one notifier serves every kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from headwater.masking import redact_text
from headwater.notifications.ui_links import attempt_url, run_url, ui_base_url

if TYPE_CHECKING:
    from headwater.settings import Settings

MAX_EXCEPTION_CHARS = 500
"""The exception in a message stops here: the whole traceback is in the attempt's log."""

STATE_WORDS = {
    "success": "succeeded",
    "failure": "failed",
    "retry": "failed, retrying",
    "skipped": "skipped",
    "deadline_miss": "missed deadline",
}
"""What each kind of callback (the context's ``callback_kind``) says happened."""


@dataclass(frozen=True)
class NotificationMessage:
    """What a default message says; ``title`` is one line, ``text`` a few."""

    dag_id: str
    run_id: str
    task_id: str | None
    map_index: int
    try_number: int | None
    max_tries: int | None
    state: str
    exception: str | None
    url: str
    title: str
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def link_label(message: NotificationMessage | dict[str, Any]) -> str:
    """The words of the message's link: an attempt's page shows its log; a DAG-level or
    deadline message links to the run."""
    task_id = message.get("task_id") if isinstance(message, dict) else message.task_id
    return "View the log" if task_id is not None else "View the run"


def _when(value: Any) -> str:
    """A time for people, to the second: ``2024-02-01 06:00:00 UTC``."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)


def callback_kind(context: dict[str, Any]) -> str:
    """Which callback this is: the runtime names it (``callback_kind``); a context with a
    due time is a missed deadline; else the run's or instance's state says."""
    kind = context.get("callback_kind")
    if isinstance(kind, str) and kind:
        return kind
    if "due_at" in context or "deadline" in context or "missed_at" in context:
        return "deadline_miss"
    run = context.get("dag_run")
    state = getattr(getattr(run, "state", None), "value", getattr(run, "state", None))
    return "success" if state == "success" and context.get("exception") is None else "failure"


def short_exception(exc: Any) -> str | None:
    """``Type: message``, secrets masked, cut to :data:`MAX_EXCEPTION_CHARS`."""
    if exc is None:
        return None
    text = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(exc)
    text = redact_text(" ".join(text.split()))
    if len(text) > MAX_EXCEPTION_CHARS:
        text = text[: MAX_EXCEPTION_CHARS - 3] + "..."
    return text


def _value(context: dict[str, Any], *paths: str) -> Any:
    """The first of ``paths`` ("ti.dag_id", "dag_id") found in the context."""
    for path in paths:
        head, _, rest = path.partition(".")
        value = context.get(head)
        for name in rest.split(".") if rest else ():
            value = getattr(value, name, None)
        if value is not None:
            return value
    return None


def describe(context: dict[str, Any], settings: Settings) -> NotificationMessage:
    """The default message for ``context`` (task, DAG or deadline callback)."""
    dag_id = str(_value(context, "ti.dag_id", "dag_run.dag_id", "dag.dag_id", "dag_id") or "?")
    run_id = str(_value(context, "ti.run_id", "run_id", "dag_run.run_id") or "?")
    task_id = _value(context, "ti.task_id", "task.task_id", "task_id")
    map_index = _value(context, "ti.map_index", "map_index")
    map_index = map_index if isinstance(map_index, int) else -1
    try_number = _value(context, "ti.try_number", "try_number")
    max_tries = _value(context, "ti.max_tries")
    kind = callback_kind(context)
    state = STATE_WORDS.get(kind, kind)
    exception = short_exception(context.get("exception"))
    if exception is None and kind in ("failure", "deadline_miss"):
        reason = context.get("reason")
        exception = redact_text(str(reason)) if reason else None
    base = ui_base_url(settings)
    if task_id is not None:
        url = attempt_url(
            base,
            dag_id,
            run_id,
            str(task_id),
            map_index=map_index,
            try_number=try_number if isinstance(try_number, int) else None,
        )
    else:
        url = run_url(base, dag_id, run_id)
    what = dag_id if task_id is None else f"{dag_id}.{task_id}"
    if map_index >= 0:
        what += f"[{map_index}]"
    title = f"{what} {state}"
    lines = [f"DAG: {dag_id}"]
    if task_id is not None:
        lines.append(f"Task: {task_id}" + (f" (map index {map_index})" if map_index >= 0 else ""))
    lines.append(f"Run: {run_id}")
    if isinstance(try_number, int):
        tries = f" of {max_tries}" if isinstance(max_tries, int) else ""
        lines.append(f"Try: {try_number}{tries}")
    lines.append(f"State: {state}")
    deadline = context.get("deadline")
    if kind == "deadline_miss":
        name = getattr(deadline, "name", deadline)
        due = context.get("due_at")
        lines.append(f"Deadline: {name or 'deadline'}" + (f" (due {_when(due)})" if due else ""))
    if exception:
        # A task's exception; a run's reason (a DAG callback, a deadline miss).
        label = "Exception" if task_id is not None and kind != "deadline_miss" else "Reason"
        lines.append(f"{label}: {exception}")
    lines.append(f"Log: {url}")
    return NotificationMessage(
        dag_id=dag_id,
        run_id=run_id,
        task_id=None if task_id is None else str(task_id),
        map_index=map_index,
        try_number=try_number if isinstance(try_number, int) else None,
        max_tries=max_tries if isinstance(max_tries, int) else None,
        state=state,
        exception=exception,
        url=url,
        title=title,
        text="\n".join(lines),
    )
