"""Creating and deleting DAG runs by hand: ``headwater dags trigger`` and the REST API."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from headwater.engine.dagrun import DagRunEngine
from headwater.engine.records import DagRun
from headwater.engine.run_factory import new_dag_run
from headwater.engine.run_partitions import partition_start
from headwater.engine.states import DagRunState
from headwater.operations._stored import require_aware, require_run, stored_dag, xcoms_for
from headwater.operations.actors import current_actor
from headwater.operations.errors import ConflictError
from headwater.shown_text import quoted

if TYPE_CHECKING:
    from headwater.store.ports import Store


def trigger_run(
    store: Store,
    dag_id: str,
    *,
    conf: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    logical_date: datetime | None = None,
    now: datetime,
    partition_key: str | None = None,
) -> DagRun:
    """Create a manual run of ``dag_id``, QUEUED for the scheduler, and return it.

    The DAG must be in the database (its file parsed by the DAG processor) and still defined
    by a file. ``conf`` is validated against the DAG's params first (the error names the
    param); ``logical_date`` defaults to ``now`` and stays the run's logical date as given; the
    data interval is the schedule's interval that contains it, in UTC (cron read in the DAG's
    time zone, a ``timedelta`` counted from its ``start_date``: see
    :func:`~headwater.engine.run_factory.new_dag_run`); ``run_id`` defaults to
    ``manual__<logical date>``. A paused DAG's run waits until it is unpaused.
    ``partition_key`` is checked against the DAG's partitions; a time partition's run has
    that partition's start as its default logical date and its interval as data interval
    (the id is ``manual__<key>__<logical date>``).
    Example::

        run = trigger_run(store, "etl", conf={"region": "us"}, now=clock.now())
    """
    _, dag = stored_dag(store, dag_id, action="trigger")
    when = require_aware(logical_date, "logical_date") if logical_date is not None else now
    if logical_date is None and partition_key is not None:
        when = partition_start(dag, partition_key) or now
    run = new_dag_run(
        dag,
        logical_date=when,
        conf=conf,
        run_id=run_id,
        run_type="manual",
        partition_key=partition_key,
    )
    run.state = DagRunState.QUEUED
    if store.get_dag_run(dag_id, run.run_id) is not None:
        raise _taken(dag_id, run.run_id)
    try:
        with store.unit_of_work() as uow:
            DagRunEngine.create(dag, uow, xcoms_for(uow), run)
            uow.record_event(
                "trigger",
                at=now,
                dag_id=dag_id,
                run_id=run.run_id,
                state=run.state.value,
                detail=json.dumps(run.conf, default=str, sort_keys=True),
                actor=current_actor(),
            )
    except ValueError:  # created at the same moment by someone else
        raise _taken(dag_id, run.run_id) from None
    return run


def _taken(dag_id: str, run_id: str) -> ConflictError:
    return ConflictError(
        f"run_id {quoted(run_id)} is taken: DAG {quoted(dag_id)} already has a run with that id; "
        "choose another run id"
    )


def delete_run(store: Store, dag_id: str, run_id: str) -> DagRun:
    """Delete one run with its task instances, attempts and XComs; returns what was deleted.

    A running run is deleted too: the scheduler notices and stops its attempts. Log files
    stay on disk. The event log keeps its entries and records a ``delete_run`` event.
    """
    run = require_run(store, dag_id, run_id)
    with store.unit_of_work() as uow:
        uow.delete_dag_run(dag_id, run_id)
        uow.record_event(
            "delete_run",
            at=uow.clock.now(),
            dag_id=dag_id,
            run_id=run_id,
            state=run.state.value,
            actor=current_actor(),
        )
    return run
