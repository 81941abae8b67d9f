"""Other DAGs' runs for a running task: the implementation of
:class:`headwater.authoring.dag_runs_access.DagRunsAccess` over a :class:`Store`.

The package root registers :func:`access_for` as the factory, so
``TriggerDagRunOperator`` creates runs through :func:`~headwater.operations.trigger_run`
(params validated, a ``trigger`` event logged) and resets them through
:func:`~headwater.operations.run_changes.clear_run`, exactly as the command line does; the
sensors read runs and task instances with the store's queries. The store is the one of the
attempt (the runtime names it), or for a trigger in the triggerer process, the database of
this process's settings, opened once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from headwater.authoring.dag_runs_access import (
    DagRunAlreadyExists,
    DagRunInfo,
    DagShape,
    TaskInstanceInfo,
)
from headwater.authoring.dates import plain_datetime
from headwater.operations._stored import stored_dag
from headwater.operations.errors import ConflictError
from headwater.shown_text import quoted

if TYPE_CHECKING:
    from headwater.engine.records import DagRun
    from headwater.store.ports import Store


class StoreDagRunsAccess:
    """:class:`~headwater.authoring.dag_runs_access.DagRunsAccess` over ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def dag_shape(self, dag_id: str) -> DagShape | None:
        row = self.store.get_dag(dag_id)
        if row is None or not row.is_active or row.serialized is None:
            return None
        _, dag = stored_dag(self.store, dag_id, action="read")
        groups = {
            group_id: frozenset(task.task_id for task in group.iter_tasks())
            for group_id, group in dag.task_groups.items()
        }
        return DagShape(dag_id, frozenset(dag.task_dict), groups)

    def get_run(self, dag_id: str, run_id: str) -> DagRunInfo | None:
        run = self.store.get_dag_run(dag_id, run_id)
        return None if run is None else _info(run)

    def runs_at(self, dag_id: str, logical_dates: Sequence[datetime]) -> list[DagRunInfo]:
        return [_info(run) for run in self._runs_at(dag_id, logical_dates)]

    def task_instances_at(
        self, dag_id: str, logical_dates: Sequence[datetime], task_ids: Sequence[str]
    ) -> list[TaskInstanceInfo]:
        runs = {run.run_id: run for run in self._runs_at(dag_id, logical_dates)}
        wanted = set(task_ids)
        return [
            TaskInstanceInfo(
                ti.run_id, runs[ti.run_id].logical_date, ti.task_id, ti.map_index, ti.state.value
            )
            for ti in self.store.get_task_instances_of_runs(dag_id, list(runs))
            if ti.task_id in wanted
        ]

    def trigger_run(
        self,
        dag_id: str,
        *,
        run_id: str | None = None,
        conf: Mapping[str, Any] | None = None,
        logical_date: datetime | None = None,
    ) -> DagRunInfo:
        from headwater.operations.runs import trigger_run

        now = self.store.clock.now()
        when = plain_datetime(logical_date) if logical_date is not None else now
        try:
            run = trigger_run(
                self.store, dag_id, conf=conf, run_id=run_id, logical_date=when, now=now
            )
        except ConflictError as exc:
            existing = self.get_run(dag_id, run_id or f"manual__{when.isoformat()}")
            if existing is None:  # refused for another reason (no file defines the DAG)
                raise
            raise DagRunAlreadyExists(
                f"DAG {quoted(dag_id)} already has a run {quoted(existing.run_id)}", existing
            ) from exc
        return _info(run)

    def clear_run(self, dag_id: str, run_id: str) -> DagRunInfo:
        from headwater.operations.run_changes import clear_run

        clear_run(self.store, dag_id, run_id, now=self.store.clock.now())
        info = self.get_run(dag_id, run_id)
        if info is None:  # deleted meanwhile
            raise ConflictError(f"DAG {quoted(dag_id)} has no run {quoted(run_id)} any more")
        return info

    def _runs_at(self, dag_id: str, logical_dates: Sequence[datetime]) -> list[DagRun]:
        runs = [
            run
            for when in dict.fromkeys(logical_dates)
            for run in self.store.find_dag_run(dag_id, when)
        ]
        return sorted(runs, key=lambda run: (run.logical_date, run.run_id))


def _info(run: DagRun) -> DagRunInfo:
    return DagRunInfo(run.dag_id, run.run_id, run.logical_date, run.state.value, dict(run.conf))


def access_for(store: object | None) -> StoreDagRunsAccess:
    """The access over ``store`` (the attempt's), or over the settings' database for None."""
    if store is None:
        from headwater.settings import load_settings

        return StoreDagRunsAccess(_settings_store(load_settings().database_url))
    if not hasattr(store, "find_dag_run"):
        from headwater.exceptions import HeadwaterError

        raise HeadwaterError(
            f"cross-DAG operators need a metadata store with every port, not {type(store).__name__}"
        )
    return StoreDagRunsAccess(cast("Store", store))


_settings_stores: dict[str, Store] = {}


def _settings_store(url: str) -> Store:
    """The database at ``url``, opened once per process (a triggerer polls it often)."""
    from headwater.store.sql import SqlStore

    store = _settings_stores.get(url)
    if store is None:
        store = _settings_stores[url] = SqlStore.from_url(url)
    return store


def close_settings_stores() -> None:
    """Close the databases :func:`access_for` opened for triggers (a process that stops)."""
    while _settings_stores:
        _settings_stores.popitem()[1].close()
