"""Changing DAGs in the database: pausing, and deleting one with everything it ran."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.operations._stored import dag_row
from headwater.operations.actors import current_actor
from headwater.store import backfills

if TYPE_CHECKING:
    from headwater.db.rows import DagRow
    from headwater.store.ports import Store


def set_paused(store: Store, dag_id: str, paused: bool) -> DagRow:
    """Pause (True) or unpause (False) a DAG and return its row as stored afterwards.

    A paused DAG gets no new scheduled runs and none of its task instances are queued; runs
    already queued or running wait. A ``pause`` event (detail ``paused`` or ``unpaused``) is
    logged with the change. Re-parsing the DAG's file never changes it.
    """
    dag_row(store, dag_id)
    with store.unit_of_work() as uow:
        uow.set_dag_paused(dag_id, paused)
        detail = "paused" if paused else "unpaused"
        uow.record_event(
            "pause", at=uow.clock.now(), dag_id=dag_id, detail=detail, actor=current_actor()
        )
    return dag_row(store, dag_id)


def delete_dag(store: Store, dag_id: str) -> dict[str, int]:
    """Delete a DAG from the database with all its runs, task instances, attempts, XComs and
    backfills, and its ties to assets (what it produces, reads and is scheduled on, and the
    asset events queued for it); returns how many rows went from each table.

    The DAG's file row is forgotten too, so the DAG processor parses that file again on its
    next scan: if the file still defines the DAG, it comes back as a new DAG (no runs, paused
    as at creation); other DAGs of the same file are re-parsed and keep their state. To
    remove a DAG for good, delete it from its file first. Log files stay on disk; the event
    log keeps its entries and records a ``delete_dag`` event.
    """
    row = dag_row(store, dag_id)
    with store.unit_of_work() as uow:
        counts = uow.delete_dag(dag_id)
        counts["backfills"] = backfills.delete_backfills(uow, dag_id)
        # Its ties to assets go (the assets and their events stay: other DAGs share them).
        uow.set_dag_asset_references(dag_id, [], [], uow.clock.now())
        if row.fileloc is not None:
            counts["dag_files"] = int(uow.delete_dag_file(row.fileloc))
        uow.record_event("delete_dag", at=uow.clock.now(), dag_id=dag_id, actor=current_actor())
    return counts
