"""One clean-up of old data: what ``headwater db clean`` and the scheduler's daily clean-up
(:mod:`headwater.scheduler.retention`) both run, so the two never differ.

:func:`sweep` removes, a batch at a time (each batch one short transaction, so the scheduler
waits at most one batch for the database): the removable runs with their rows
(:mod:`headwater.store.retention` says which runs and rows), their log folders and their
XCom files (:mod:`headwater.xcom_objects`), then old events without a run and old asset
events no kept run consumed, and task state whose expiry passed (whatever its run's age: an
expired key reads as absent already). A dry run counts the runs, events and asset events
and changes nothing. A real one ends with one ``db_clean`` event naming the cutoff, the
counts and who asked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from headwater.runtime.remote_logs import remote_log_folder
from headwater.runtime.run_log_retention import (
    LogFilesCount,
    count_run_logs,
    remove_remote_run_logs,
    remove_run_logs,
)
from headwater.store.retention import (
    ASSET_EVENTS_TABLE,
    BACKFILLS_TABLE,
    EVENTS_TABLE,
    RUN_TABLES,
    RUNS_TABLE,
    TASK_STATE_TABLE,
    RunKey,
)
from headwater.xcom_objects import delete_run_objects

if TYPE_CHECKING:
    from headwater.settings import Settings
    from headwater.store.ports import Store

log = logging.getLogger(__name__)

DB_CLEAN_EVENT = "db_clean"
"""The kind of the event a clean-up records (one per clean-up, not one per run)."""


@dataclass
class RetentionReport:
    """What a clean-up removed (or, dry, would remove): rows per table, and log files."""

    cutoff: datetime
    dag_id: str | None
    dry_run: bool
    rows: dict[str, int] = field(default_factory=dict)
    logs: LogFilesCount = field(default_factory=LogFilesCount)
    remote_log_folders: int | None = None
    """Runs' folders removed from ``[logging] remote_log_folder`` (None: none is set, or a
    dry run, which does not list the remote store)."""
    batches: int = 0

    @property
    def runs(self) -> int:
        return self.rows.get("dag_runs", 0)

    def add_rows(self, counts: dict[str, int]) -> None:
        for table, count in counts.items():
            self.rows[table] = self.rows.get(table, 0) + count


def sweep(
    store: Store,
    settings: Settings,
    *,
    cutoff: datetime,
    dag_id: str | None = None,
    dry_run: bool = False,
    batch_size: int | None = None,
    actor: str | None = None,
    at: datetime | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RetentionReport:
    """Remove (or count, with ``dry_run``) what finished before ``cutoff``; see the module.

    ``batch_size`` (default ``[retention] batch_size``) runs, events or asset events go per
    transaction. ``at`` times the ``db_clean`` event (default: the store's clock);
    ``should_stop`` is asked between batches (a stopping scheduler), and a clean-up it stops
    records no event. Example::

        report = sweep(store, settings, cutoff=now - timedelta(days=90), actor="cli:ann")
    """
    size = batch_size or settings.retention.batch_size
    report = RetentionReport(cutoff=cutoff, dag_id=dag_id, dry_run=dry_run)
    tables = (RUNS_TABLE, *RUN_TABLES, ASSET_EVENTS_TABLE, *(() if dry_run else (BACKFILLS_TABLE,)))
    report.add_rows(dict.fromkeys(tables, 0))  # every table is named, with nothing to remove
    after: RunKey | None = None
    stop = should_stop or (lambda: False)
    remote = None if dry_run else remote_log_folder(settings)
    if remote is not None:
        report.remote_log_folders = 0
    while not stop() and (
        runs := store.removable_runs(cutoff, dag_id=dag_id, after=after, limit=size)
    ):
        after = runs[-1]
        report.batches += 1
        if dry_run:
            report.add_rows(store.count_run_rows(runs))
            report.logs.add(count_run_logs(settings.logs_folder, runs))
            continue
        report.add_rows(store.delete_runs(runs))
        report.logs.add(remove_run_logs(settings.logs_folder, runs))
        if remote is not None and report.remote_log_folders is not None:
            report.remote_log_folders += remove_remote_run_logs(remote, runs)
        for run_dag_id, run_id in runs:
            delete_run_objects(settings, run_dag_id, run_id)
    _sweep_ids(store, report, size, EVENTS_TABLE, stop)
    _sweep_ids(store, report, size, ASSET_EVENTS_TABLE, stop)
    if not dry_run and dag_id is None and not stop():
        expired = store.delete_expired_task_state(at or store.clock.now())
        report.add_rows({TASK_STATE_TABLE: expired})
    if stop():
        log.info("The clean-up stopped early (the scheduler stops)")
        return report
    if not dry_run:
        store.record_event(
            DB_CLEAN_EVENT,
            at=at or store.clock.now(),
            dag_id=dag_id,
            detail=json.dumps({"cutoff": cutoff.isoformat(), "rows": report.rows}, sort_keys=True),
            actor=actor,
        )
    log.info(
        "%s %d run(s) that ended before %s%s, %d row(s) in all and %d log file(s) (%d bytes)",
        "Would remove" if dry_run else "Removed",
        report.runs,
        cutoff.isoformat(),
        f" of DAG {dag_id}" if dag_id else "",
        sum(report.rows.values()),
        report.logs.files,
        report.logs.bytes,
    )
    return report


def _sweep_ids(
    store: Store, report: RetentionReport, size: int, table: str, stop: Callable[[], bool]
) -> None:
    """Old events (``table`` ``events``) or asset events, a batch per transaction."""
    find = store.old_event_ids if table == EVENTS_TABLE else store.old_asset_event_ids
    remove = store.delete_events if table == EVENTS_TABLE else store.delete_asset_events
    after = 0
    while not stop() and (
        ids := find(report.cutoff, dag_id=report.dag_id, after=after, limit=size)
    ):
        after = ids[-1]
        count = len(ids) if report.dry_run else remove(ids)
        report.add_rows({table: count})
