"""The deadline port: when runs and tasks must have finished, and the misses recorded.

One row per deadline of one run (:class:`DeadlineRow`): a DAG's :class:`~headwater.Deadline`
(``task_id`` None) or a task's ``sla`` (``name`` ``"sla"``). Its life, each step one committed
compare-and-set:

1. **planned** ``waiting`` with its ``due_at`` by the scheduler's deadline check once the
   moment it counts from is known (the run queued, started; its data interval): insert if
   absent (:meth:`DeadlineStore.plan_deadlines`), so a second scheduler or a restart plans
   nothing twice;
2. **met** (``waiting`` → ``met``) when it is due and its run (or task) finished in time;
3. **missed** (``waiting`` → ``missed``, ``missed_at`` set, :meth:`record_deadline_miss`)
   when it is due and the work is unfinished or finished late: exactly one writer wins;
4. its callback, if the DAG has one, goes ``pending`` (with the miss) → ``started`` (the
   scheduler starts the callback process only after that write committed) → ``done`` or
   ``failed`` (the callback process). A ``pending`` callback left by a scheduler that died
   is started by the next; a ``started`` one is never started again.

The scheduler's query is ``status = 'waiting' AND due_at <= now`` (an index on
``(status, due_at)``). Rows go with their run (the SQL foreign key cascades).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

WAITING = "waiting"
MET = "met"
MISSED = "missed"
DEADLINE_STATUSES = (WAITING, MET, MISSED)

DEADLINE = "deadline"
SLA = "sla"
DEADLINE_KINDS = (DEADLINE, SLA)

NO_CALLBACK = "none"
PENDING = "pending"
STARTED = "started"
DONE = "done"
CALLBACK_FAILED = "failed"
CALLBACK_STATES = (NO_CALLBACK, PENDING, STARTED, DONE, CALLBACK_FAILED)


@dataclass(frozen=True)
class DeadlinePlan:
    """A deadline of one run (or one task of it), to plan if it is not planned yet."""

    dag_id: str
    run_id: str
    name: str
    """The :class:`~headwater.Deadline`'s name, or ``"sla"`` for a task's SLA."""
    kind: str
    """``"deadline"`` (a DAG run's) or ``"sla"`` (a task's)."""
    due_at: datetime
    task_id: str | None = None
    map_index: int = -1


@dataclass(frozen=True)
class DeadlineRow:
    """One stored deadline."""

    id: int
    dag_id: str
    run_id: str
    task_id: str | None
    map_index: int
    name: str
    kind: str
    due_at: datetime
    planned_at: datetime
    status: str
    """``waiting``, ``met`` or ``missed``."""
    resolved_at: datetime | None = None
    """When it was found met or missed."""
    missed_at: datetime | None = None
    reason: str | None = None
    """Why it was missed ("the run is still running", "task load finished at ...")."""
    callback_state: str = NO_CALLBACK
    callback_error: str | None = None


class DeadlineStore(ABC):
    """Deadlines of runs and SLAs of tasks, and their misses."""

    @abstractmethod
    def plan_deadlines(self, plans: Iterable[DeadlinePlan], now: datetime) -> int:
        """Store each plan ``waiting`` unless its (run, task, map index, name) is stored
        already (whatever its state); how many were new. One transaction."""

    @abstractmethod
    def due_deadlines(self, now: datetime, limit: int = 500) -> list[DeadlineRow]:
        """``waiting`` deadlines with ``due_at <= now``, earliest first, at most ``limit``."""

    @abstractmethod
    def resolve_deadline(self, deadline_id: int, now: datetime) -> bool:
        """``waiting`` → ``met``; False, writing nothing, when it is not waiting."""

    @abstractmethod
    def record_deadline_miss(
        self, deadline_id: int, now: datetime, reason: str, *, has_callback: bool
    ) -> bool:
        """``waiting`` → ``missed`` at ``now`` with ``reason`` (its callback ``pending`` when
        ``has_callback``); False, writing nothing, when it is not waiting: a miss is
        recorded once, whoever tries."""

    @abstractmethod
    def pending_deadline_callbacks(self, limit: int = 100) -> list[DeadlineRow]:
        """Missed deadlines whose callback is ``pending`` (not started yet), oldest first."""

    @abstractmethod
    def set_deadline_callback_state(
        self, deadline_id: int, expected: str, state: str, error: str | None = None
    ) -> bool:
        """Compare-and-set the callback state from ``expected`` to ``state``."""

    @abstractmethod
    def get_deadline(self, deadline_id: int) -> DeadlineRow | None: ...

    @abstractmethod
    def list_deadlines(self, dag_id: str, run_id: str | None = None) -> list[DeadlineRow]:
        """Every deadline of the DAG (of one run), by due time."""

    @abstractmethod
    def list_deadline_misses(
        self, dag_ids: Iterable[str] | None = None, *, offset: int = 0, limit: int = 100
    ) -> tuple[list[DeadlineRow], int]:
        """A page of missed deadlines (of the DAGs ``dag_ids``), the latest miss first; and
        how many there are."""

    @abstractmethod
    def run_queued_at(self, dag_id: str, run_id: str) -> datetime | None:
        """When the run was queued (created), where the store keeps it (the SQL store does;
        the memory store does not: None)."""
