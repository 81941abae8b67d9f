"""The ``backfills`` table: one row per backfill (migration 0002; ``created_by``,
``completed_at`` and ``run_backwards`` from 0007).

It lives beside :mod:`headwater.db.models` on the same declarative ``Base``, so the
migrations test, ``reset`` and Alembic see it like every other table; importing
:mod:`headwater.db.migrate` (or :mod:`headwater.store.backfills`) registers it. The runs of a
backfill point at it through ``dag_runs.backfill_id`` (no foreign key: a backfill's row may
be gone while its runs are kept, and SQLite cannot add one without rebuilding the table).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from headwater.db.models import ID_LENGTH, Base


class BackfillModel(Base):
    """One backfill of one DAG: the logical dates it covers and how many runs it may run."""

    __tablename__ = "backfills"
    __table_args__ = (Index("ix_backfills_dag_id", "dag_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    start: Mapped[datetime]
    """First logical date covered (inclusive)."""
    end: Mapped[datetime]
    """Last logical date covered (inclusive)."""
    reprocess: Mapped[str] = mapped_column(String(20))
    """'failed', 'none' or 'all': which runs that already existed it ran again."""
    max_active_runs: Mapped[int] = mapped_column(Integer)
    """Most of its runs queued or running at once (the scheduler honours it)."""
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    """Who asked for it (migration 0007): a user, or ``cli:<OS user>``; None if not known."""
    completed_at: Mapped[datetime | None]
    """When it was cancelled (migration 0007); None while it may still start runs."""
    run_backwards: Mapped[bool] = mapped_column(Boolean, server_default=false())
    """Its newest logical dates start first (migration 0007)."""
