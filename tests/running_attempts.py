"""A running attempt made by hand in a test database, for the tests that follow a live log:
a manual run of a stored DAG, one instance running its first try, its log file written by
the test line by line, and then ended (as a worker would record it).

``started = start_attempt(settings, "flaky", "live", "start")``; ``started.write("line\\n")``;
``started.end()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from headwater.clock import FakeClock
from headwater.engine.records import TaskAttempt, TaskInstance
from headwater.engine.states import TaskInstanceState
from headwater.operations import trigger_run
from headwater.runtime.logs import attempt_log_path
from headwater.services.context import open_context
from headwater.settings import Settings

QUEUED_AT = datetime(2024, 6, 1, 11, 59, 58, tzinfo=UTC)
STARTED_AT = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class RunningAttempt:
    settings: Settings
    instance: TaskInstance
    attempt: TaskAttempt
    log: Path

    def write(self, text: str | bytes) -> None:
        """Append ``text`` to the attempt's log file, as the task prints it."""
        data = text.encode() if isinstance(text, str) else text
        with self.log.open("ab") as file:
            file.write(data)

    def end(self, state: TaskInstanceState = TaskInstanceState.SUCCESS) -> None:
        """Record the attempt's end and its instance's new state."""
        end = STARTED_AT + timedelta(seconds=3)
        self.attempt.state = state
        self.attempt.end_date = end
        self.instance.state = state
        self.instance.end_date = end
        with open_context(self.settings) as ctx:
            ctx.store.save_attempt_with_task_instances(self.attempt, [self.instance])


def start_attempt(settings: Settings, dag_id: str, run_id: str, task_id: str) -> RunningAttempt:
    """Trigger run ``run_id`` of ``dag_id`` (unless it exists), queue ``task_id`` at
    ``QUEUED_AT`` and start its next try at ``STARTED_AT``, with an empty log file."""
    with open_context(settings, clock=FakeClock(QUEUED_AT)) as ctx:
        if ctx.store.get_dag_run(dag_id, run_id) is None:
            trigger_run(ctx.store, dag_id, run_id=run_id, now=QUEUED_AT)
        ti = ctx.store.get_task_instance(dag_id, run_id, task_id)
        assert ti is not None
        ti.state = TaskInstanceState.QUEUED
        ctx.store.save_task_instances([ti])
        ti.state = TaskInstanceState.RUNNING
        ti.try_number += 1
        ti.start_date = STARTED_AT
        log = Path(attempt_log_path(settings.logs_folder, ti.key, ti.try_number))
        attempt = TaskAttempt(
            dag_id,
            run_id,
            task_id,
            ti.map_index,
            ti.try_number,
            TaskInstanceState.RUNNING,
            STARTED_AT,
            hostname="worker-1",
            pid=4242,
            log_path=str(log),
        )
        ctx.store.save_attempt_with_task_instances(attempt, [ti])
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"")
    return RunningAttempt(settings, ti, attempt, log)
