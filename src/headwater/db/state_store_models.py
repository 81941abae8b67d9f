"""The tables of task and asset state (migration 0010): Airflow 3.3's state stores (AIP-103).

They live beside :mod:`headwater.db.models` on the same declarative ``Base``, like
:mod:`headwater.db.operations_models`; :mod:`headwater.store.sql.state_stores` registers them.
Values are JSON text. See :mod:`headwater.store.state_stores`.

Relations::

    dag_runs (dag_id, run_id) ◀── task_state_store (dag_id, run_id, task_id, map_index, key)
                                   ON DELETE CASCADE
    asset_state_store (asset, key)   by the asset's URI: shared by every DAG naming it
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from headwater.db.data_aware_models import URI_LENGTH
from headwater.db.models import ID_LENGTH, Base
from headwater.store.state_stores import MAX_KEY_LENGTH


class TaskStateModel(Base):
    """A key of one task instance's state, shared by all its tries (so a retry reattaches).

    A row whose ``expires_at`` has passed reads as absent; clean-up deletes it
    (``ix_task_state_store_expires_at``).
    """

    __tablename__ = "task_state_store"
    __table_args__ = (
        ForeignKeyConstraint(
            ["dag_id", "run_id"], ["dag_runs.dag_id", "dag_runs.run_id"], ondelete="CASCADE"
        ),
        Index("ix_task_state_store_expires_at", "expires_at"),
    )

    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    map_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    """The value's JSON text."""
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    """When the key stops reading; NULL: never."""


class AssetStateModel(Base):
    """A key of one asset's state (a watermark), by the asset's URI; it never expires."""

    __tablename__ = "asset_state_store"

    asset: Mapped[str] = mapped_column(String(URI_LENGTH), primary_key=True)
    """The asset's URI (headwater names an asset by its URI)."""
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    """The value's JSON text."""
    updated_at: Mapped[datetime]
