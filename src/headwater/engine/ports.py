"""The engine's store port: what :class:`~headwater.engine.dagrun.DagRunEngine` and
:class:`~headwater.engine.xcoms.XComs` persist, defined here so the engine depends on no store.

Five small interfaces, one per record (runs, task instances, attempts, XComs) and one read
of earlier runs (:class:`PastRunStore`, for ``depends_on_past``), and :class:`EngineStore`,
all five together: what the engine works through.
:class:`~headwater.store.memory.MemoryStore` and :class:`~headwater.store.sql.SqlStore`
implement it (through :class:`headwater.store.base.MetadataStore`); their one contract suite
is ``tests/contract/test_store_contract.py``.

Writes are atomic: when a method returns its change is committed (or, inside a store's unit
of work, part of the unit's one transaction).

Task-instance writes may be compare-and-set: ``expected`` maps each instance the writer
read to the ``(state, try_number)`` it read it in. A write whose stored row no longer
matches (another writer changed it), or an insert of an instance that already exists, is
refused with :class:`~headwater.exceptions.StaleWriteError` and nothing of the call is
written. Without ``expected`` a write is an upsert.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from headwater.engine.records import (
    AttemptKey,
    AttemptOutcome,
    DagRun,
    TaskAttempt,
    TaskInstance,
    TaskInstanceKey,
)
from headwater.engine.states import DagRunState, TaskInstanceState

ExpectedStates = Mapping[TaskInstanceKey, tuple[TaskInstanceState, int]]
"""Instance key -> the (state, try number) the writer last saw it in."""


class RunStore(ABC):
    """DAG runs."""

    @abstractmethod
    def create_dag_run(self, run: DagRun, task_instances: Iterable[TaskInstance]) -> None:
        """Store a new run with its initial task instances, atomically.

        A run that exists already is refused with ``ValueError`` naming the DAG and run.
        """

    @abstractmethod
    def get_dag_run(self, dag_id: str, run_id: str) -> DagRun | None:
        """The run, or None if there is none."""

    @abstractmethod
    def save_dag_run(self, run: DagRun, *, expected_state: DagRunState | None = None) -> None:
        """Insert or update ``run`` (every field). With ``expected_state``, a compare-and-set
        on the stored run: it is updated only if its state is still that one, else
        :class:`~headwater.exceptions.StaleWriteError` (a person cleared or marked it
        meanwhile) and nothing is written."""

    @abstractmethod
    def list_dag_runs(
        self,
        dag_id: str,
        states: Iterable[DagRunState | str] | None = None,
        limit: int | None = None,
    ) -> list[DagRun]:
        """Runs of ``dag_id`` (in ``states``), oldest logical date first (then run id);
        ``limit`` keeps the newest ones."""


class TaskInstanceStore(ABC):
    """Task instances."""

    @abstractmethod
    def save_task_instances(
        self,
        task_instances: Iterable[TaskInstance],
        *,
        delete: Iterable[TaskInstanceKey] = (),
        expected: ExpectedStates | None = None,
    ) -> None:
        """Write instances (and delete ``delete``) in one atomic change.

        ``expected=None``: every instance is upserted. Otherwise an instance whose key is in
        ``expected`` is updated only if it is stored in that (state, try number), and one
        whose key is not is inserted; a mismatch or a duplicate raises
        :class:`~headwater.exceptions.StaleWriteError` and nothing is written.
        """

    @abstractmethod
    def get_task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        """The instances of a run, by task id then map index (none for an unknown run)."""


class AttemptStore(ABC):
    """One record per try of a task instance."""

    @abstractmethod
    def save_attempt(self, attempt: TaskAttempt) -> None:
        """Insert or update the row of one try."""

    @abstractmethod
    def save_attempt_with_task_instances(
        self,
        attempt: TaskAttempt,
        task_instances: Iterable[TaskInstance],
        *,
        delete: Iterable[TaskInstanceKey] = (),
        expected: ExpectedStates | None = None,
    ) -> None:
        """:meth:`save_attempt` and :meth:`TaskInstanceStore.save_task_instances` as one
        atomic change (an attempt starting or ending with the state changes it causes)."""

    @abstractmethod
    def get_attempts(
        self, dag_id: str, run_id: str, task_id: str | None = None
    ) -> list[TaskAttempt]:
        """Attempts of a run (of ``task_id``), by start date, task, map index, try."""

    @abstractmethod
    def get_attempt(self, key: AttemptKey) -> TaskAttempt | None:
        """The row of one try, with its recorded outcome if it has one."""

    @abstractmethod
    def claim_attempt(self, attempt: TaskAttempt) -> bool:
        """Store the row of an attempt that starts (``running``), **unless it exists**: the
        process about to run the attempt claims it. False, writing nothing, when the row
        exists (someone started this try already): the caller must not run it."""

    @abstractmethod
    def record_attempt_outcome(
        self,
        key: AttemptKey,
        outcome: AttemptOutcome,
        end_date: datetime,
        xcoms: Mapping[str, str] | None = None,
        *,
        start_date: datetime | None = None,
    ) -> bool:
        """End the attempt ``key`` with ``outcome`` and store the XComs its instance pushed,
        in one atomic change, **if the attempt is still running** (compare-and-set).

        Returns False, writing nothing, when it is not: someone else ended it first (a
        scheduler that took it for lost, a kill) or it never started. The caller's outcome is
        then stale and must not be applied. The attempt row keeps ``outcome`` (state, error,
        retry decision, branches, short circuit), what a scheduler that restarts applies
        instead of running the attempt again.
        """


class XComStore(ABC):
    """Values passed between tasks, stored as serialized text."""

    @abstractmethod
    def set_xcom(self, key: TaskInstanceKey, name: str, value: str) -> None: ...

    @abstractmethod
    def get_xcom(self, key: TaskInstanceKey, name: str) -> str | None: ...

    @abstractmethod
    def get_xcoms(self, key: TaskInstanceKey) -> dict[str, str]:
        """Every XCom of one instance, name -> value, by name (what a person looks at)."""

    @abstractmethod
    def get_mapped_xcoms(self, dag_id: str, run_id: str, task_id: str, name: str) -> list[str]:
        """The values of every map index of ``task_id``, in map-index order."""

    @abstractmethod
    def clear_xcoms(self, key: TaskInstanceKey) -> None:
        """Delete every XCom of one instance."""


@dataclass(frozen=True)
class PastInstances:
    """The run before a run (``depends_on_past``): which run it is, and the states of the
    instances of the tasks asked about, every map index, in map-index order. A task that
    had no instance in that run is not in ``states``."""

    run_id: str
    logical_date: datetime
    states: Mapping[str, tuple[TaskInstanceState, ...]] = field(default_factory=dict)


class PastRunStore(ABC):
    """Reads of earlier runs of a DAG, as ``depends_on_past`` needs them: one query per run
    evaluated, for the few tasks that ask, never the whole previous run."""

    @abstractmethod
    def get_previous_run_states(
        self,
        dag_id: str,
        before: datetime,
        task_ids: Iterable[str],
        *,
        skip_run_types: Iterable[str] = (),
    ) -> PastInstances | None:
        """The run of ``dag_id`` with the latest logical date before ``before`` (on a tie,
        the greatest run id), leaving out runs of ``skip_run_types``, with the states of
        the instances of ``task_ids`` in it; None when there is no such run."""

    @abstractmethod
    def tasks_with_earlier_instances(
        self, dag_id: str, before: datetime, task_ids: Iterable[str]
    ) -> set[str]:
        """Those of ``task_ids`` that have an instance in some run of ``dag_id`` whose
        logical date is before ``before`` (``ignore_first_depends_on_past``)."""


class EngineStore(RunStore, TaskInstanceStore, AttemptStore, XComStore, PastRunStore):
    """Everything the engine persists and reads: runs, task instances, attempts, XComs, and
    the states of earlier runs."""
