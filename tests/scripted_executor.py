"""An executor that runs nothing: a test starts each attempt as a worker would and says what
the executor reports about it (scheduler tests on a fake clock, without worker processes)."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

from headwater.clock import FakeClock
from headwater.engine.records import AttemptKey, AttemptOutcome, TaskAttempt
from headwater.engine.states import TaskInstanceState
from headwater.executors.base import AttemptStarted, Executor
from headwater.scheduler.scheduler import Scheduler
from headwater.settings import load_settings
from headwater.store.memory import MemoryStore
from stored_dags import scan_here

S = TaskInstanceState


class ScriptedExecutor(Executor):
    """Runs nothing: the test starts each attempt as a worker would (the scheduler records it
    running) and says what the executor reports about it."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.queued: list[AttemptKey] = []
        self.sent: set[AttemptKey] = set()
        self._reports: list[tuple[AttemptKey, AttemptOutcome]] = []
        self._started_events: list[AttemptStarted] = []

    def queue(self, key: AttemptKey) -> None:
        self.queued.append(key)

    def start_attempt(self, key: AttemptKey) -> None:
        message = self.scheduler.prepare_attempt(key, os.getpid(), self.scheduler.hostname)
        assert message is not None and message.key == key
        self.sent.add(key)
        host, now = self.scheduler.hostname, self.scheduler.clock.now()
        # The worker claims the attempt (its row), and the executor says it started.
        row = TaskAttempt(*key, state=S.RUNNING, start_date=now, hostname=host, pid=os.getpid())
        assert self.scheduler.store.claim_attempt(row)
        self._started_events.append(AttemptStarted(key, host, os.getpid(), now))

    def started(self) -> list[AttemptStarted]:
        events, self._started_events = self._started_events, []
        return events

    def report(self, key: AttemptKey, outcome: AttemptOutcome) -> None:
        self.sent.discard(key)
        self._reports.append((key, outcome))

    def poll(self, timeout: float) -> list[tuple[AttemptKey, AttemptOutcome]]:
        reports, self._reports = self._reports, []
        return reports

    def running(self) -> Mapping[AttemptKey, object]:
        return dict.fromkeys(self.sent, "scripted")

    def kill(self, key: AttemptKey) -> None:
        self.sent.discard(key)

    @property
    def has_work(self) -> bool:
        return bool(self.sent or self._reports)


def scripted(scheduler: Scheduler) -> ScriptedExecutor:
    """The :class:`ScriptedExecutor` of a scheduler made by :func:`scripted_scheduler`."""
    executor = scheduler.executor
    assert isinstance(executor, ScriptedExecutor)
    return executor


def scripted_scheduler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dag_file: str, source: str
) -> Scheduler:
    """A started scheduler with a :class:`ScriptedExecutor`, on the memory store and a
    :class:`~headwater.clock.FakeClock` at 2024-01-01 UTC, whose DAG folder holds one file,
    ``dag_file``, of ``source`` (dedented), processed already. The caller stops it."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / dag_file).write_text(textwrap.dedent(source))
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    clock = FakeClock(datetime(2024, 1, 1, tzinfo=UTC))
    store = MemoryStore(clock=clock)
    assert not scan_here(store, folder).errors
    scheduler = Scheduler(
        store=store, executor_factory=ScriptedExecutor, settings=load_settings(), clock=clock
    )
    scheduler.start()
    return scheduler
