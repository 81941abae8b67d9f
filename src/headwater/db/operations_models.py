"""The tables of operations (migration 0009): deadlines of runs and SLAs of tasks.

They live beside :mod:`headwater.db.models` on the same declarative ``Base``, like
:mod:`headwater.db.data_aware_models`; importing :mod:`headwater.db.migrate` registers them.

Relations::

    dag_runs (dag_id, run_id) ◀── deadlines (id; dag_id, run_id, task_id, map_index, name)
                                   ON DELETE CASCADE
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from headwater.db.models import ID_LENGTH, Base

DAG_LEVEL_TASK_ID = ""
"""``task_id`` of a DAG run's deadline (not NULL, so the unique key holds for it too)."""


class DeadlineModel(Base):
    """When a run (or a task of it) must have finished, and whether it did.

    Planned ``waiting`` by the scheduler's deadline check; then ``met`` or ``missed`` by
    compare-and-set (``status = 'waiting'``), so a miss is recorded once. The scheduler's
    query, ``status = 'waiting' AND due_at <= now``, reads ``ix_deadlines_status_due_at``.
    """

    __tablename__ = "deadlines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["dag_id", "run_id"], ["dag_runs.dag_id", "dag_runs.run_id"], ondelete="CASCADE"
        ),
        UniqueConstraint("dag_id", "run_id", "task_id", "map_index", "name"),
        Index("ix_deadlines_status_due_at", "status", "due_at"),
        Index("ix_deadlines_callback_state", "callback_state"),
        Index("ix_deadlines_missed_at", "missed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    """The task of an SLA; ``""`` for the run's deadline."""
    map_index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(20))
    """'deadline' or 'sla'."""
    due_at: Mapped[datetime]
    planned_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20))
    """'waiting', 'met' or 'missed'."""
    resolved_at: Mapped[datetime | None]
    missed_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    callback_state: Mapped[str] = mapped_column(String(20))
    """'none', 'pending', 'started', 'done' or 'failed'."""
    callback_error: Mapped[str | None] = mapped_column(Text)
