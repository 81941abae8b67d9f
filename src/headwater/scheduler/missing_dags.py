"""Runs whose DAG disappeared: when their DAG went missing, and when their runs give up.

A DAG goes missing when no DAG file defines it any more: its file was deleted, or the file no
longer builds it (the DAG processor then marks it inactive). Its queued and running runs
cannot go on: no worker can import their tasks. A file can be gone for a moment, though (an
editor that saves by renaming, a ``git checkout``, a deployment that replaces the folder), so
the runs wait ``scheduler.missing_dag_grace_s``: no new task of theirs starts, attempts
already running go on, and a DAG back in time carries on as if nothing happened. After the
grace the scheduler ends each run ``failed`` with :func:`missing_reason` as its note, and its
unfinished task instances ``removed`` (:meth:`DagRunEngine.remove_unfinished`), stopping
the attempts still running.

The grace is counted from when this scheduler first saw the DAG missing, in memory: a
scheduler that restarts gives such runs a whole grace again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from headwater.engine.dagrun import DagRunEngine
from headwater.exceptions import HeadwaterError
from headwater.log_format import fields_of

if TYPE_CHECKING:
    from headwater.engine.records import DagRun
    from headwater.engine.xcoms import XComs
    from headwater.store.ports import Store

log = logging.getLogger(__name__)


def missing_reason(dag_id: str, grace_s: float) -> str:
    """Why a run of ``dag_id`` ended: its note, and its removed instances' error."""
    return (
        f"its DAG {dag_id!r} is no longer defined by any DAG file (the file was deleted, or no "
        f"longer builds it) for {grace_s:g} s (scheduler.missing_dag_grace_s)"
    )


class MissingDags:
    """When each DAG that still has queued or running runs went missing."""

    def __init__(self, grace_s: float) -> None:
        self.grace_s = grace_s
        self._since: dict[str, datetime] = {}

    def overdue_runs(
        self, now: datetime, active_runs: list[DagRun], defined: set[str]
    ) -> list[tuple[DagRun, str]]:
        """Of ``active_runs`` (queued and running), those whose DAG is not among ``defined``
        (the DAGs some file defines now) and has been missing for the whole grace, each with
        the reason it ends."""
        missing = {run.dag_id for run in active_runs if run.dag_id not in defined}
        for dag_id in sorted(set(self._since) & defined):
            log.info("DAG %s is defined again; its queued and running runs carry on", dag_id)
        overdue = self._overdue(now, missing)
        ending = []
        for run in active_runs:
            if run.dag_id in overdue:
                reason = missing_reason(run.dag_id, self.grace_s)
                log.warning("Run %s of %s fails: %s", run.run_id, run.dag_id, reason)
                ending.append((run, reason))
        return ending

    def _overdue(self, now: datetime, missing: set[str]) -> set[str]:
        """Of ``missing``, the DAGs missing for the whole grace; DAGs no longer missing (back,
        or without active runs) are forgotten."""
        for dag_id in sorted(set(self._since) - missing):
            del self._since[dag_id]
        for dag_id in sorted(missing - set(self._since)):
            self._since[dag_id] = now
            log.warning(
                "DAG %s is no longer defined by any DAG file; its queued and running runs "
                "fail in %g s (scheduler.missing_dag_grace_s) unless it comes back",
                dag_id,
                self.grace_s,
            )
        grace = timedelta(seconds=self.grace_s)
        return {dag_id for dag_id, since in self._since.items() if now - since >= grace}


def engine_without_dag_file(
    store: Store, xcoms: XComs, run: DagRun, now: datetime
) -> DagRunEngine | None:
    """The engine of a run this scheduler never loaded (queued, or left running by a
    scheduler that stopped), built from its DAG's last stored version; None when the
    database has none to build it from."""
    from headwater.dag_processing.serialized_dag import deserialize_dag

    row = store.get_dag(run.dag_id)
    if row is None or row.serialized is None:
        log.error(
            "Run %s of %s: its DAG is not in the database",
            run.run_id,
            run.dag_id,
            extra=fields_of(run),
        )
        return None
    try:
        dag = deserialize_dag(row.serialized)
    except HeadwaterError as exc:
        log.error(
            "Run %s of %s: its DAG cannot be loaded: %s",
            run.run_id,
            run.dag_id,
            exc,
            extra=fields_of(run),
        )
        return None
    return DagRunEngine.load(dag, store, xcoms, run.dag_id, run.run_id, now=now)
