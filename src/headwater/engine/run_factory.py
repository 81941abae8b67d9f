"""New run records: params validated against the DAG, run id and data interval set."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from headwater.authoring.dates import plain_datetime
from headwater.authoring.params import resolve_params
from headwater.engine.records import DagRun, validate_run_id
from headwater.exceptions import HeadwaterError
from headwater.strict_json import require_finite

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG


def new_dag_run(
    dag: DAG,
    *,
    logical_date: datetime,
    conf: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    run_type: str = "manual",
    data_interval: tuple[datetime, datetime] | None = None,
) -> DagRun:
    """A run record for ``dag`` at ``logical_date``: params validated, data interval set.

    Without ``data_interval`` it is the one the DAG's timetable gives a manual run at
    ``logical_date`` (``infer_manual_data_interval``): for a cron or ``timedelta`` schedule
    the interval containing ``logical_date``, in UTC: cron read in the DAG's time zone (its
    ``start_date``'s, else UTC), a ``timedelta`` counted from its ``start_date``
    (``[D, D + delta)`` without one); ``[D, D]`` for an unscheduled DAG.
    ``{{ ds }}`` is ``logical_date``'s date.
    The run id defaults to ``<run_type>__<logical date in ISO 8601>`` when ``run_id`` is
    ``None``; an empty one is refused like any other invalid id. A ``conf`` holding NaN or
    infinity is refused (:class:`~headwater.strict_json.InvalidJsonError`): it is stored
    as JSON, which cannot hold them. A logical date whose data interval (or UTC time) falls
    outside years 1 to 9999 is refused with a :class:`~headwater.exceptions.HeadwaterError`.
    """
    if logical_date.tzinfo is None:
        raise ValueError(f"logical_date {logical_date.isoformat()} has no timezone")
    # A pendulum datetime, say, becomes a plain one (see headwater.authoring.dates).
    logical_date = plain_datetime(logical_date)
    params = resolve_params(dag.params, conf)  # first: it refuses a conf that is no mapping
    require_finite(conf, "conf")
    start, end = data_interval or _interval_for(dag, logical_date)
    start, end = plain_datetime(start), plain_datetime(end)
    return DagRun(
        dag_id=dag.dag_id,
        run_id=validate_run_id(
            run_id if run_id is not None else f"{run_type}__{logical_date.isoformat()}"
        ),
        logical_date=logical_date,
        data_interval_start=start,
        data_interval_end=end,
        run_type=run_type,
        conf=dict(conf or {}),
        params=params,
    )


def _interval_for(dag: DAG, logical_date: datetime) -> tuple[datetime, datetime]:
    """The schedule's data interval around ``logical_date``, or a clear error when it (or the
    date in UTC, as it is stored) would fall outside what ``datetime`` can represent:
    ``9999-12-31T23:00`` on a six-hour schedule ends in year 10000."""
    try:
        start, end = dag.timetable.infer_manual_data_interval(run_after=logical_date)
        for moment in (logical_date, start, end):
            moment.astimezone(UTC)
    except OverflowError:
        raise HeadwaterError(
            f"logical date {logical_date.isoformat()} is out of range: it or its data "
            f"interval under DAG {dag.dag_id!r}'s schedule {dag.schedule.description} falls "
            "outside the dates headwater can represent (years 1 to 9999, in UTC)"
        ) from None
    return start, end
