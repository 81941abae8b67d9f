"""New run records: params validated against the DAG, run id and data interval set."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from headwater.authoring.dates import plain_datetime
from headwater.authoring.params import resolve_params
from headwater.authoring.weight_rule import effective_weight, effective_weights
from headwater.engine.records import DagRun, TaskInstance, validate_run_id
from headwater.engine.run_partitions import (
    checked_partition_key,
    key_of_run,
    partition_interval,
)
from headwater.exceptions import HeadwaterError
from headwater.strict_json import require_finite

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator


def new_dag_run(
    dag: DAG,
    *,
    logical_date: datetime,
    conf: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    run_type: str = "manual",
    data_interval: tuple[datetime, datetime] | None = None,
    partition_key: str | None = None,
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

    A partitioned DAG's run works on ``partition_key`` (checked against ``dag.partitions``;
    a time partition's interval is the data interval unless one is given); a scheduled or
    manual run of a time-partitioned DAG without one gets the key of its data interval's
    start, and a scheduled or backfill run of a DAG on a partitioned timetable the key of
    its fire time (see :mod:`headwater.engine.run_partitions`). A partitioned run's default
    id is ``<run_type>__<partition key>__<logical date>`` (characters a run id cannot hold
    replaced by ``_``).
    """
    if logical_date.tzinfo is None:
        raise ValueError(f"logical_date {logical_date.isoformat()} has no timezone")
    # A pendulum datetime, say, becomes a plain one (see headwater.authoring.dates).
    logical_date = plain_datetime(logical_date)
    params = resolve_params(dag.params, conf)  # first: it refuses a conf that is no mapping
    require_finite(conf, "conf")
    partition_key = checked_partition_key(dag, partition_key)
    if data_interval is None and partition_key is not None:
        data_interval = partition_interval(dag, partition_key)
    start, end = data_interval or _interval_for(dag, logical_date)
    start, end = plain_datetime(start), plain_datetime(end)
    if partition_key is None:
        partition_key = key_of_run(dag, run_type, logical_date, start)
    if run_id is None:
        run_id = f"{run_type}__{logical_date.isoformat()}"
        if partition_key is not None:
            run_id = f"{run_type}__{_id_part(partition_key)}__{logical_date.isoformat()}"
    return DagRun(
        dag_id=dag.dag_id,
        run_id=validate_run_id(run_id),
        logical_date=logical_date,
        data_interval_start=start,
        data_interval_end=end,
        run_type=run_type,
        conf=dict(conf or {}),
        params=params,
        partition_key=partition_key,
    )


def _id_part(key: str) -> str:
    """A partition key as part of a run id: a key named by a producer may hold characters a
    run id cannot (``us|2024-06-14``, ``2024-03-11 (W11)``), each replaced by ``_``."""
    return _NOT_IN_RUN_ID.sub("_", key)[:100]


_NOT_IN_RUN_ID = re.compile(r"[^A-Za-z0-9_.~:+-]")


def new_task_instance(
    dag_id: str, run_id: str, task: BaseOperator, map_index: int, weight: int | None = None
) -> TaskInstance:
    """A fresh (state ``none``) instance of ``task`` in run ``run_id``, with the task's
    retries, priority (``weight``: its weight rule applied, worked out here if not given),
    pool and queue."""
    return TaskInstance(
        dag_id=dag_id,
        run_id=run_id,
        task_id=task.task_id,
        map_index=map_index,
        max_tries=task.retries + 1,
        priority_weight=effective_weight(task) if weight is None else weight,
        pool=task.pool,
        pool_slots=task.pool_slots,
        queue=task.queue,
    )


def new_task_instances(dag: DAG, run: DagRun) -> list[TaskInstance]:
    """The instances a new run of ``dag`` starts with: one per task, unmapped (a mapped
    task's placeholder), as :meth:`DagRunEngine.create` stores them."""
    weights = effective_weights(dag)
    return [
        new_task_instance(dag.dag_id, run.run_id, t, -1, weights[t.task_id])
        for t in dag.task_dict.values()
    ]


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
