"""Running one attempt of one task instance: context, templates, execute, XCom, callbacks.

Every executor runs attempts through :func:`run_attempt`, in its own process or another.
It never changes state itself: it returns an :class:`AttemptOutcome` for the engine.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from headwater.authoring.current_context import reset_current_context, set_current_context
from headwater.authoring.dag_runs_access import use_dag_runs_store
from headwater.authoring.xcom_arg import RETURN_VALUE, XComArg
from headwater.engine import retries
from headwater.engine.records import AttemptOutcome, DagRun, TaskInstance
from headwater.engine.states import TaskInstanceState
from headwater.exceptions import (
    HeadwaterError,
    TaskDeferred,
    TaskFailedNoRetry,
    TaskRescheduled,
    TaskSkipped,
    TaskTimeoutError,
)
from headwater.lineage import AttemptLineage, start_attempt_lineage
from headwater.masking import redact, redact_text
from headwater.runtime import deferral, retry_decisions
from headwater.runtime.attempt_context import build_context
from headwater.runtime.email_alerts import send_attempt_alert
from headwater.runtime.outlet_events import drain_yielded, outlet_events_of, take_metadata
from headwater.runtime.task_callbacks import call_task_callbacks, event_reporter
from headwater.runtime.templating import environment_for, render_string, render_template_fields
from headwater.secrets import use_metastore
from headwater.sentry_reports import report_task_exception

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator
    from headwater.engine.xcoms import XComs
    from headwater.notifications.delivery import FailureReporter
    from headwater.runtime.logs import AttemptLog
    from headwater.store.base import MetadataStore


class RuntimeTaskInstance:
    """``ti`` in a task's context: its identity, its log, and XCom push and pull."""

    def __init__(
        self,
        ti: TaskInstance,
        task: BaseOperator,
        xcoms: XComs,
        log: logging.Logger,
        store: MetadataStore | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.dag_id = ti.dag_id
        self.run_id = ti.run_id
        self.task_id = ti.task_id
        self.map_index = ti.map_index
        self.try_number = ti.try_number
        self.max_tries = ti.max_tries
        self.key = ti.key
        self.task = task
        self.log = log
        self._xcoms = xcoms
        self.follow: list[str] | None = None
        self.short_circuit_scope: str | None = None
        self.now: Callable[[], datetime] = now or _utc_now
        """The attempt's clock (a driver's fake clock in tests): what sensors time on."""
        self._ti = ti
        self._store = store
        self._series: tuple[datetime | None, int] | None = None

    @property
    def wait_started_at(self) -> datetime | None:
        """For a sensor in reschedule mode: when the first poke of its current wait began
        (None on a first poke)."""
        return self._reschedule_series()[0]

    @property
    def previous_pokes(self) -> int:
        """For a sensor in reschedule mode: how many pokes its current wait made before."""
        return self._reschedule_series()[1]

    def _reschedule_series(self) -> tuple[datetime | None, int]:
        if self._series is None:  # read once, and only by the tasks that ask (sensors)
            store = self._store
            self._series = (
                (None, 0) if store is None else deferral.reschedule_series(store, self._ti)
            )
        return self._series

    def xcom_push(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` for downstream tasks."""
        self._xcoms.push(self.key, key, value)

    def xcom_pull(
        self,
        task_ids: str | Iterable[str] | None = None,
        key: str = RETURN_VALUE,
        map_indexes: int | None = None,
    ) -> Any:
        """What ``task_ids`` pushed under ``key``; a list for a list of ids or a mapped task.

        Without ``task_ids``: the value of ``key`` from the nearest task instance that pushed
        one, looking at this instance first, then at the tasks upstream of this one,
        however far, the latest in the DAG's order first (so ``a >> b >> c``: ``c``, then
        ``b``, then ``a``). ``map_indexes`` applies to those upstream tasks. ``None`` when
        none of them pushed ``key``.
        """
        if task_ids is None:
            return self._pull_nearest(key, map_indexes)
        dag = self.task.dag
        if isinstance(task_ids, str):
            mapped = dag is not None and dag.get_task(task_ids).is_mapped
            if map_indexes is None and mapped and self._in_my_mapped_group(task_ids):
                map_indexes = self.map_index  # as the task's arguments: this index's value
            return self._xcoms.pull(
                self.dag_id, self.run_id, task_ids, map_index=map_indexes, name=key, mapped=mapped
            )
        return [self.xcom_pull(t, key, map_indexes) for t in task_ids]

    def _in_my_mapped_group(self, task_id: str) -> bool:
        """Whether ``task_id`` is in the same mapped task group as this task."""
        dag = self.task.dag
        if dag is None or self.task_id not in dag.task_dict:
            return False
        group = getattr(dag.task_dict[self.task_id], "mapped_group", None)
        return group is not None and getattr(dag.task_dict[task_id], "mapped_group", None) is group

    def _pull_nearest(self, key: str, map_indexes: int | None) -> Any:
        own = self._xcoms.pull(
            self.dag_id, self.run_id, self.task_id, map_index=self.map_index, name=key
        )
        if own is not None:
            return own
        dag = self.task.dag
        if dag is None or self.task_id not in dag.task_dict:
            return None
        upstream = {t.task_id for t in dag.task_dict[self.task_id].get_flat_relatives(True)}
        for task in reversed(dag.topological_sort()):
            if task.task_id not in upstream:
                continue
            value = self.xcom_pull(task.task_id, key, map_indexes)
            every_instance = task.is_mapped and map_indexes is None
            if value is not None and not (every_instance and value == []):
                return value
        return None

    def follow_branches(self, task_ids: list[str]) -> None:
        """Follow only ``task_ids`` among the direct downstream tasks; skip the others."""
        dag = self.task.dag
        if dag is not None:
            for task_id in task_ids:
                if task_id not in dag.task_dict and task_id not in dag.task_groups:
                    raise HeadwaterError(
                        f"branch task {self.task_id!r} chose {task_id!r}, which is not a task "
                        f"or task group of DAG {dag.dag_id!r}"
                    )
        self.follow = list(task_ids)

    def short_circuit(self, *, all_descendants: bool) -> None:
        self.short_circuit_scope = "all" if all_descendants else "direct"

    def render_template(self, text: str, context: dict[str, Any]) -> str:
        return render_string(text, context, environment_for(self.task.dag))

    def __repr__(self) -> str:
        return f"<TaskInstance {self.dag_id}.{self.key.label} try {self.try_number}>"


@contextlib.contextmanager
def _timeout(seconds: float | None) -> Iterator[None]:
    """Raise TaskTimeoutError in this thread after ``seconds`` (main thread only)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise TaskTimeoutError(f"task timed out after {seconds:g} seconds (execution_timeout)")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class AttemptRequest:
    """Everything needed to run one attempt in this process."""

    dag: DAG
    run: DagRun
    ti: TaskInstance
    store: MetadataStore
    xcoms: XComs
    log_path: str
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """The clock of whoever runs the attempt: deferral timeouts and sensors use it."""
    dag_runs_store: object | None = None
    """Where cross-DAG operators reach other DAGs' runs, when not ``store`` (an in-process
    run in memory: the settings' metadata database)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _concrete_task(task: BaseOperator, ti: TaskInstance, xcoms: XComs, run: DagRun) -> BaseOperator:
    """A private copy of the task for this attempt (unmapped for a mapped instance)."""
    from headwater.authoring.mapping import MappedOperator

    if isinstance(task, MappedOperator):
        kwargs_list = task.expand_input.resolve(
            lambda ref: xcoms.resolve(ref, run.dag_id, run.run_id), task.task_id
        )
        return task.unmap(kwargs_list[ti.map_index])
    return copy.copy(task)


def run_attempt(request: AttemptRequest) -> AttemptOutcome:
    """Run one attempt and report how it ended. Never raises for a task's own errors, nor
    for a log file that cannot be created: the attempt fails with that one line as its
    error (no retry decided here: the engine asks its rule, as for a lost attempt)."""
    from headwater.runtime.logs import AttemptLogError

    lineage = start_attempt_lineage(request.dag, request.run, request.ti, request.now)  # OL
    dag_runs_store = request.store if request.dag_runs_store is None else request.dag_runs_store
    with use_metastore(request.store), use_dag_runs_store(dag_runs_store):
        try:
            outcome = _run_logged(request, lineage)
        except AttemptLogError as exc:
            outcome = AttemptOutcome(TaskInstanceState.FAILED, error=str(exc))
        lineage.ended(outcome)  # OpenLineage: COMPLETE / FAIL (a SQL task's connection: here)
    return outcome


def _run_logged(request: AttemptRequest, lineage: AttemptLineage) -> AttemptOutcome:
    from headwater.runtime.logs import capture_attempt_log

    dag, run, ti = request.dag, request.run, request.ti
    started = request.now()
    with capture_attempt_log(request.log_path) as attempt_log:
        attempt_log.line(
            logging.INFO,
            f"Starting attempt {ti.try_number} of {ti.max_tries}: "
            f"{dag.dag_id}.{ti.key.label}, run {run.run_id}",
        )
        log = attempt_log.logger
        task = dag.task_dict[ti.task_id]
        runtime_ti = RuntimeTaskInstance(
            ti, task, request.xcoms, log, store=request.store, now=request.now
        )
        context: dict[str, Any] = {}
        rendered: dict[str, Any] = {}
        # Notifications that finally fail say so in this attempt's log and the event log.
        reporter = event_reporter(request.store, request.now, request.log_path)
        try:
            concrete = _concrete_task(task, ti, request.xcoms, run)
            runtime_ti.task = concrete
            context = build_context(
                dag=dag, task=concrete, run=run, ti=runtime_ti, store=request.store
            )

            def resolve(ref: XComArg) -> Any:
                return request.xcoms.resolve(ref, run.dag_id, run.run_id)

            rendered = render_template_fields(concrete, context, resolve)
            lineage.task = concrete  # OpenLineage: the rendered task (its SQL) for the end event
            token = set_current_context(context)
            try:
                with _timeout(
                    concrete.execution_timeout.total_seconds()
                    if concrete.execution_timeout
                    else None
                ):
                    concrete.pre_execute(context)
                    result = deferral.call_task(concrete, ti, context)
                    result = drain_yielded(result, context, log)  # Airflow's yield Metadata
                    concrete.post_execute(context, result)
                if getattr(concrete, "show_return_value_in_logs", False):
                    # Masked before it is cut: a cut could leave part of a secret.
                    shown = redact_text(repr(result))[:200]
                    attempt_log.line(logging.INFO, f"Returned value was: {shown}")
            finally:
                reset_current_context(token)
                for name in concrete.rendered_after_execute:
                    rendered[name] = getattr(concrete, name, None)
            _push_result(concrete, runtime_ti, take_metadata(result, context))
            outlet_events = outlet_events_of(concrete, context, run)
        except TaskDeferred as exc:
            try:
                return deferral.deferred_outcome(
                    exc, concrete, started, request.now(), attempt_log, _displayable(rendered)
                )
            except HeadwaterError as bad:
                return _failed(bad, task, ti, context, attempt_log, rendered, reporter)
        except TaskRescheduled as exc:
            return deferral.rescheduled_outcome(exc, attempt_log, _displayable(rendered))
        except TaskSkipped as exc:
            attempt_log.line(logging.INFO, f"Task skipped: {exc}")
            call_task_callbacks("skipped", task, context, log, reporter)
            return AttemptOutcome(
                TaskInstanceState.SKIPPED,
                error=redact_text(str(exc)) or None,
                rendered_fields=_displayable(rendered),
            )
        # A task's sys.exit() fails the task too; TaskTimeoutError is a BaseException.
        except (Exception, SystemExit, TaskTimeoutError) as exc:
            return _failed(exc, task, ti, context, attempt_log, rendered, reporter)
        attempt_log.line(logging.INFO, "Task succeeded")
        call_task_callbacks("success", task, context, log, reporter)
        return AttemptOutcome(
            TaskInstanceState.SUCCESS,
            follow_branches=runtime_ti.follow,
            short_circuit=runtime_ti.short_circuit_scope,
            rendered_fields=_displayable(rendered),
            outlet_events=outlet_events,
        )


def _push_result(task: BaseOperator, ti: RuntimeTaskInstance, result: Any) -> None:
    """Push the return value as ``return_value`` (and, with ``multiple_outputs``, each key
    of a dict under its own name); nothing for None or with ``do_xcom_push=False``."""
    if result is None or not getattr(task, "do_xcom_push", True):
        return
    ti.xcom_push(RETURN_VALUE, result)
    if getattr(task, "multiple_outputs", False):
        if not isinstance(result, dict):
            raise HeadwaterError(
                f"task {task.task_id!r} has multiple_outputs=True but returned "
                f"{type(result).__name__}, not a dict"
            )
        for key, value in result.items():
            ti.xcom_push(str(key), value)


def _failed(
    exc: BaseException,
    task: BaseOperator,
    ti: TaskInstance,
    context: dict[str, Any],
    attempt_log: AttemptLog,
    rendered: dict[str, Any],
    reporter: FailureReporter,
) -> AttemptOutcome:
    log = attempt_log.logger
    # The log file masks what it is given; the error is stored and shown too, so it is
    # masked here (a secret in the exception's message).
    error = redact_text(f"{type(exc).__name__}: {exc}")
    attempt_log.line(logging.ERROR, f"Task failed: {error}")
    attempt_log.line(logging.ERROR, _user_traceback(exc))
    decision = retry_decisions.policy_decision(task, exc, ti, context, attempt_log)
    will_retry = retries.retry_failed_attempt(
        ti.try_number,
        ti.max_tries,
        no_retry=isinstance(exc, TaskFailedNoRetry) or retry_decisions.failed_by_policy(decision),
    )
    report_task_exception(  # to Sentry, when the process reports there
        exc,
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        map_index=ti.map_index,
        try_number=ti.try_number,
        log_path=attempt_log.path,
    )
    if context:
        context = {**context, "exception": exc}
    if will_retry:
        attempt_log.line(
            logging.INFO, f"Marking for retry (attempt {ti.try_number} of {ti.max_tries})"
        )
        call_task_callbacks("retry", task, context, log, reporter)
    else:
        attempt_log.line(
            logging.INFO, f"Marking as failed (attempt {ti.try_number} of {ti.max_tries})"
        )
        call_task_callbacks("failure", task, context, log, reporter)
    send_attempt_alert(task, ti, context, exc, will_retry=will_retry, attempt_log=attempt_log)
    return AttemptOutcome(
        TaskInstanceState.FAILED,
        error=error,
        retry=will_retry,
        retry_delay=retry_decisions.chosen_delay(decision) if will_retry else None,
        retry_reason=retry_decisions.kept_reason(decision),
        rendered_fields=_displayable(rendered),
    )


def _user_traceback(exc: BaseException) -> str:
    """The traceback without headwater's own call machinery (runtime and callable wrappers),
    with registered secrets masked (in messages and in the source lines shown)."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not (
            _RUNTIME_DIR in frame.filename
            or (
                frame.name in ("call_with_context", "execute")
                and frame.filename.endswith(_PYTHON_OP)
            )
        )
    ]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)]
    lines += traceback.format_exception_only(exc)
    return redact_text("".join(lines).rstrip())


_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))
_PYTHON_OP = os.path.join("headwater", "operators", "python.py")


_PLAIN = (str, int, float, bool, type(None))


def _displayable(rendered: dict[str, Any]) -> dict[str, Any]:
    """Rendered values as JSON-friendly data (``repr`` for anything else), redacted: a
    field whose name is sensitive shows ``***``, and registered secrets are masked inside
    every value (a bash command rendering ``{{ conn.db.password }}``). Built when the
    attempt ends, so a secret the task registered while it ran is masked too.

    A value holding NaN or infinity is shown as its ``repr`` too: it is stored in a JSON
    column, which cannot hold them (PostgreSQL refuses the write).
    """
    import json

    out: dict[str, Any] = {}
    for name, value in rendered.items():
        if isinstance(value, _PLAIN) and not isinstance(value, float):
            shown = value
        else:
            try:
                json.dumps(value, allow_nan=False)
                shown = value
            except (TypeError, ValueError):
                shown = repr(value)
        out[name] = redact(shown, name)
    return out
