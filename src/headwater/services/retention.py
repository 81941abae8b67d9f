"""Data retention: removing old runs, events and log files (``headwater db clean``).

:func:`clean_database` takes a :class:`CleanRequest` (``older_than`` as ``90d``, ``12h``,
``30m`` or ``2w``) and answers a :class:`CleanResult`: rows per table and log files removed,
or with ``dry_run`` what would be, nothing changed. See :mod:`headwater.operations.retention`
for what goes and what stays. Example::

    with open_context() as ctx:
        result = clean_database(ctx, CleanRequest(older_than="90d", dry_run=True))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from headwater.services._schema import IsoDatetime, Schema

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext

__all__ = ["CleanRequest", "CleanResult", "clean_database"]


class CleanRequest(Schema):
    """What to clean: what ended more than ``older_than`` ago, of ``dag_id`` when given."""

    older_than: str
    """An age: a whole number and a unit, ``m``, ``h``, ``d`` or ``w`` (``90d``)."""
    dag_id: str | None = None
    dry_run: bool = False
    batch_size: int | None = Field(default=None, ge=1)
    """Runs per transaction; default ``[retention] batch_size``."""


class CleanResult(Schema):
    """What a clean-up removed, or with ``dry_run`` would remove."""

    cutoff: IsoDatetime
    """Runs that ended before this went (and events, asset events older than it)."""
    dag_id: str | None
    dry_run: bool
    runs: int
    rows: dict[str, int]
    """Rows per table (``dag_runs``, ``task_instances``, ``xcoms``, ``events``, ...)."""
    log_files: int
    log_bytes: int
    remote_log_folders: int | None
    """Runs' folders removed from ``[logging] remote_log_folder`` (null: none is set, or a
    dry run)."""
    batches: int
    """Batches of runs (each one transaction; a dry run's are only read)."""


def clean_database(ctx: ServiceContext, request: CleanRequest) -> CleanResult:
    """Remove (or count, dry) old data; errors name the field (``--older-than``)."""
    from headwater.operations.retention import clean_old_data, parse_age

    report = clean_old_data(
        ctx.store,
        ctx.settings,
        older_than=parse_age(request.older_than),
        now=ctx.now(),
        dag_id=request.dag_id,
        dry_run=request.dry_run,
        batch_size=request.batch_size,
    )
    return CleanResult(
        cutoff=report.cutoff,
        dag_id=report.dag_id,
        dry_run=report.dry_run,
        runs=report.runs,
        rows=dict(sorted(report.rows.items())),
        log_files=report.logs.files,
        log_bytes=report.logs.bytes,
        remote_log_folders=report.remote_log_folders,
        batches=report.batches,
    )
