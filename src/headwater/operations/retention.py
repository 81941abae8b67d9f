"""Removing old data by hand: ``headwater db clean --older-than 90d`` (Airflow's
``airflow db clean``).

:func:`clean_old_data` checks what it is asked, then runs the same clean-up as the
scheduler's daily one (:func:`headwater.scheduler.retention_sweep.sweep`): old finished runs
with everything of theirs (task instances, attempts, XComs and their files, triggers, asset
event links, events, log files), old events without a run, old asset events nobody needs;
never a queued or running run, nor the newest run of a DAG. The event log records one
``db_clean`` event per clean-up, with who asked.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from headwater.operations.actors import current_actor
from headwater.operations.errors import InvalidRequestError
from headwater.scheduler.retention_sweep import RetentionReport, sweep

if TYPE_CHECKING:
    from headwater.settings import Settings
    from headwater.store.ports import Store

_AGE = re.compile(r"(\d+)([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str, option: str = "--older-than") -> timedelta:
    """``90d``, ``12h``, ``30m`` or ``2w`` as a duration; anything else is an error naming
    ``option``. Example: ``parse_age("2w") == timedelta(weeks=2)``."""
    match = _AGE.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise InvalidRequestError(
            f"{option} {text!r} is not an age: give a positive whole number and a unit, "
            "m (minutes), h (hours), d (days) or w (weeks), e.g. 90d"
        )
    try:
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        raise InvalidRequestError(f"{option} {text!r} is too long ago") from None


def clean_old_data(
    store: Store,
    settings: Settings,
    *,
    older_than: timedelta,
    now: datetime,
    dag_id: str | None = None,
    dry_run: bool = False,
    batch_size: int | None = None,
) -> RetentionReport:
    """Remove (or, with ``dry_run``, count) what ended more than ``older_than`` before
    ``now``, of ``dag_id`` only when given, ``batch_size`` runs per transaction (default
    ``[retention] batch_size``). Example::

        report = clean_old_data(store, settings, older_than=parse_age("90d"), now=now)
    """
    if older_than <= timedelta(0):
        raise InvalidRequestError(f"older_than must be positive, not {older_than}")
    if batch_size is not None and batch_size < 1:
        raise InvalidRequestError(f"batch_size must be at least 1, not {batch_size}")
    if dag_id is not None and not dag_id.strip():
        raise InvalidRequestError("dag_id must not be empty")
    try:
        cutoff = now - older_than
    except OverflowError:
        raise InvalidRequestError(f"older_than {older_than} is too long ago") from None
    return sweep(
        store,
        settings,
        cutoff=cutoff,
        dag_id=dag_id,
        dry_run=dry_run,
        batch_size=batch_size,
        actor=current_actor(),
        at=now,
    )
