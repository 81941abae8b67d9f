"""A scheduler over a real database and a DAG folder, driven step by step with a fake clock."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from command_processes import alive, wait_for  # noqa: F401 - shared with the tests here
from headwater.clock import FakeClock
from headwater.engine.records import DagRun, TaskAttempt, TaskInstance, TaskInstanceKey
from headwater.operations import trigger_run
from headwater.scheduler.scheduler import Scheduler
from headwater.scheduler.service import build_scheduler
from headwater.settings import load_settings
from headwater.store.sql import SqlStore
from stored_dags import scan_here

HEADER = """\
from datetime import UTC, datetime, timedelta
from pathlib import Path

from headwater import DAG, task
from headwater.operators import BashOperator, EmptyOperator, PythonOperator

START = datetime(2024, 1, 1, tzinfo=UTC)
"""


class Harness:
    """DAG files in ``folder``, a migrated database at ``url``, a scheduler on ``clock``."""

    def __init__(self, url: str, folder: Path, clock: FakeClock) -> None:
        self.url = url
        self.folder = folder
        self.clock = clock
        self.store = SqlStore.from_url(url, clock=clock)
        self._scheduler: Scheduler | None = None

    @classmethod
    def in_memory(cls, tmp_path: Path, monkeypatch: Any, clock: FakeClock) -> Harness:
        """A harness on the memory store, its DAG folder ``tmp_path/dags``, with the
        in-process executor (``monkeypatch``: the settings of the test)."""
        from headwater.store.memory import MemoryStore

        folder = tmp_path / "dags"
        folder.mkdir(exist_ok=True)
        monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
        monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "in_process")
        harness = cls(f"sqlite:///{tmp_path / 'unused.db'}", folder, clock)
        harness.store.close()
        harness.store = MemoryStore(clock=clock)  # type: ignore[assignment]
        return harness

    def write_dag(self, name: str, body: str) -> Path:
        path = self.folder / f"{name}.py"
        path.write_text(HEADER + textwrap.dedent(body))
        return path

    def process(self) -> None:
        report = scan_here(self.store, self.folder)
        assert not report.errors, self.store.list_import_errors()

    @property
    def scheduler(self) -> Scheduler:
        if self._scheduler is None:
            self._scheduler = build_scheduler(load_settings(), store=self.store, clock=self.clock)
            self._scheduler.start()
        return self._scheduler

    def trigger(self, dag_id: str, *, conf: dict[str, Any] | None = None) -> DagRun:
        return trigger_run(self.store, dag_id, conf=conf, now=self.clock.now())

    def step(self, *, tick: bool = True, wait_s: float = 10.0) -> int:
        """One full pass (unless ``tick`` is False), then apply whatever attempts end."""
        scheduler = self.scheduler
        if tick:
            scheduler.tick()
        finished = scheduler.executor.poll(timeout=wait_s if scheduler.executor.has_work else 0)
        if finished:
            scheduler.apply_outcomes(finished)
            scheduler.schedule_runs(self.clock.now())
        return len(finished)

    def run_until(self, done: Callable[[], bool], *, steps: int = 200, tick: bool = True) -> None:
        for _ in range(steps):
            if done():
                return
            self.step(tick=tick)
        raise AssertionError("the scheduler did not get there")

    def run_state(self, dag_id: str, run_id: str) -> str:
        run = self.store.get_dag_run(dag_id, run_id)
        assert run is not None
        return run.state.value

    def finished(self, dag_id: str, run_id: str) -> Callable[[], bool]:
        return lambda: self.run_state(dag_id, run_id) in ("success", "failed")

    def tis(self, dag_id: str, run_id: str) -> dict[str, TaskInstance]:
        return {ti.key.label: ti for ti in self.store.get_task_instances(dag_id, run_id)}

    def states(self, dag_id: str, run_id: str) -> dict[str, str]:
        return {label: ti.state.value for label, ti in self.tis(dag_id, run_id).items()}

    def attempts(self, dag_id: str, run_id: str, task_id: str) -> list[TaskAttempt]:
        return self.store.get_attempts(dag_id, run_id, task_id)

    def xcom(self, dag_id: str, run_id: str, task_id: str, name: str = "return_value") -> Any:
        """The value ``task_id`` pushed (deserialized)."""
        text = self.store.get_xcom(TaskInstanceKey(dag_id, run_id, task_id), name)
        return None if text is None else json.loads(text)

    def runs(self, dag_id: str) -> list[DagRun]:
        return self.store.list_dag_runs(dag_id)

    def close(self) -> None:
        if self._scheduler is not None:
            self._scheduler.stop()
        self.store.close()


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    from datetime import UTC

    return datetime(2024, 1, day, hour, minute, tzinfo=UTC)
