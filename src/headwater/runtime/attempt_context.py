"""The template and callable context of one task attempt: dates, params, ti, var, conn, macros.

:func:`build_context` runs for every attempt (scheduler workers, ``dags test``, ``tasks
test``, Celery), so it reads nothing from the store: keys that need a read or a schedule
computation, and Airflow 2's deprecated names, are filled on first use
(:mod:`headwater.runtime.airflow_context`, :mod:`headwater.runtime.lazy_values`). Its keys
are :data:`headwater.authoring.taskflow.CONTEXT_KEYS`, which a task's function may name as
parameters.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import random
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from headwater.authoring.params import task_params
from headwater.runtime.airflow_context import airflow_context
from headwater.runtime.lazy_values import LazyValue, TaskContext
from headwater.runtime.outlet_events import asset_context
from headwater.runtime.state_store_context import state_store_context
from headwater.secrets import (
    Connection,
    VariableNotFoundError,
    get_connection,
    get_variable,
    use_metastore,
)
from headwater.strict_json import loads

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator
    from headwater.engine.records import DagRun
    from headwater.store.base import MetadataStore


def ds_add(ds: str, days: int) -> str:
    """``ds_add("2024-01-31", 1) == "2024-02-01"``."""
    return (datetime.strptime(ds, "%Y-%m-%d") + timedelta(days=days)).strftime("%Y-%m-%d")


def ds_format(ds: str, input_format: str, output_format: str) -> str:
    """``ds_format("2024-01-31", "%Y-%m-%d", "%d/%m/%Y") == "31/01/2024"``."""
    return datetime.strptime(ds, input_format).strftime(output_format)


class _Macros:
    """``macros.*`` in templates, as Airflow's: ``ds_add``, ``ds_format``, ``datetime``,
    ``timedelta``, ``random`` (the function: ``macros.random()`` is a float in [0, 1)), and
    the modules ``json``, ``time``, ``uuid``, ``dateutil``, ``yaml`` (imported when first
    used); and the macros of Airflow plugins defined in this process, under their plugin's
    name (:mod:`headwater.airflow_compat.plugins`)."""

    ds_add = staticmethod(ds_add)
    ds_format = staticmethod(ds_format)
    datetime = datetime
    timedelta = timedelta
    json = json
    random = staticmethod(random.random)

    def __getattr__(self, name: str) -> Any:
        if name in ("time", "uuid", "dateutil", "yaml"):
            import importlib

            return importlib.import_module(name)
        from headwater.airflow_compat.plugins import plugin_macros

        found = plugin_macros(name)  # an Airflow plugin's macros: macros.<plugin>.<macro>
        if found is not None:
            return found
        raise AttributeError(f"macros has no {name!r}")


MACROS = _Macros()


class _VariableValues:
    """``var.value`` or ``var.json``: each read goes through the lookup chain (secrets
    backends, then ``store``), so a template sees what a hook or ``get_variable`` would."""

    def __init__(self, store: MetadataStore, as_json: bool) -> None:
        self._store = store
        self._json = as_json

    def get(self, name: str, default: Any = None) -> Any:
        try:
            value = self._lookup(name)
        except VariableNotFoundError:
            return default
        return self._parsed(name, value)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._parsed(name, self._lookup(name))

    def _lookup(self, name: str) -> str:
        with use_metastore(self._store):
            return get_variable(name)

    def _parsed(self, name: str, value: str) -> Any:
        # Strict, like every JSON input: NaN, Infinity and duplicate keys are errors.
        return loads(value, f"variable {name!r}") if self._json else value


class VariableAccessor:
    """``var.value.name`` (text) and ``var.json.name`` (parsed JSON) in templates, looked up
    through the secrets backends then the metadata store; a secret-named one is masked."""

    def __init__(self, store: MetadataStore) -> None:
        self.value = _VariableValues(store, as_json=False)
        self.json = _VariableValues(store, as_json=True)


class ConnectionAccessor:
    """``conn.my_db.host`` in templates, looked up through the secrets backends then the
    metadata store; the connection's password is masked from then on, as for a hook."""

    def __init__(self, store: MetadataStore) -> None:
        self._store = store

    def get(self, conn_id: str) -> Connection:
        with use_metastore(self._store):
            return get_connection(conn_id)

    def __getattr__(self, conn_id: str) -> Connection:
        if conn_id.startswith("_"):
            raise AttributeError(conn_id)
        return self.get(conn_id)


@functools.lru_cache(maxsize=64)
def _date_strings(logical_date: datetime) -> tuple[str, str, str]:
    """``ds``, ``ts`` and ``ts_nodash`` of a logical date (the same for every task of a run)."""
    return (
        logical_date.strftime("%Y-%m-%d"),
        logical_date.isoformat(),
        logical_date.strftime("%Y%m%dT%H%M%S"),
    )


_TEST_MODE: ContextVar[bool] = ContextVar("headwater_test_mode", default=False)


@contextlib.contextmanager
def attempts_in_test_mode() -> Iterator[None]:
    """Within the block, attempts see ``test_mode`` True (Airflow's ``tasks test`` sets it;
    a task may then skip side effects)."""
    token = _TEST_MODE.set(True)
    try:
        yield
    finally:
        _TEST_MODE.reset(token)


def _expanded_ti_count(task: BaseOperator, run: DagRun, ti: Any, store: MetadataStore) -> Any:
    """How many instances the mapped task of ``ti`` has in ``run`` (None unmapped): read
    from the store when first used."""
    if getattr(ti, "map_index", -1) < 0:
        return None

    def count() -> int:
        instances = store.get_task_instances(run.dag_id, run.run_id)
        return sum(1 for i in instances if i.task_id == task.task_id and i.map_index >= 0)

    return LazyValue(count)


def build_context(
    *,
    dag: DAG,
    task: BaseOperator,
    run: DagRun,
    ti: Any,
    store: MetadataStore,
) -> dict[str, Any]:
    """The context of one attempt, as templates and callables see it: a
    :class:`~headwater.runtime.lazy_values.TaskContext` (a dict)."""
    logical_date = run.logical_date
    ds, ts, ts_nodash = _date_strings(logical_date)
    ds_nodash = ds.replace("-", "")
    assets = asset_context(task, run, store)  # outlet_events, inlet_events, ...
    context = {
        "dag": dag,
        "task": task,
        "ti": ti,
        "task_instance": ti,
        "dag_run": run,
        "run_id": run.run_id,
        "logical_date": logical_date,
        "data_interval_start": run.data_interval_start,
        "data_interval_end": run.data_interval_end,
        "ds": ds,
        "ds_nodash": ds_nodash,
        "ts": ts,
        "ts_nodash": ts_nodash,
        "ts_nodash_with_tz": ts.replace("-", "").replace(":", ""),
        "partition_key": run.partition_key,  # None unless the DAG is partitioned
        "partition_date": _partition_date(dag, run),
        # Each attempt gets its own copy: a task that changes its params changes no other's.
        # A task's own params go over the DAG's; the run's conf goes over both.
        "params": task_params(run.params, getattr(task, "params", {}), run.conf, task.task_id),
        "conf": copy.deepcopy(run.conf) if run.conf else {},
        "map_index": ti.map_index,
        "try_number": ti.try_number,
        "var": VariableAccessor(store),
        "conn": ConnectionAccessor(store),
        "macros": MACROS,
        "task_instance_key_str": f"{dag.dag_id}__{task.task_id}__{ds_nodash}",
        "inlets": list(task.inlets),
        "outlets": list(task.outlets),
        "test_mode": _TEST_MODE.get(),
        "expanded_ti_count": _expanded_ti_count(task, run, ti, store),
        **assets,
        **state_store_context(task, run, ti, store),  # task_state_store, asset_state_store
        **airflow_context(
            dag=dag,
            run=run,
            store=store,
            log=getattr(ti, "log", None),
            triggering_asset_events=assets["triggering_asset_events"],
        ),
    }
    return TaskContext(context)


def _partition_date(dag: DAG, run: DagRun) -> datetime | None:
    """The run's partition date, also set on the run the context holds (``dag_run``)."""
    from headwater.engine.run_partitions import partition_date

    run.partition_date = partition_date(dag, run.partition_key)
    return run.partition_date
