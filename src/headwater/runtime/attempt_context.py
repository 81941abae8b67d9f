"""The template and callable context of one task attempt: dates, params, ti, var, conn, macros."""

from __future__ import annotations

import copy
import functools
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from headwater.authoring.params import task_params
from headwater.runtime.outlet_events import asset_context
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
    """``macros.*`` in templates."""

    ds_add = staticmethod(ds_add)
    ds_format = staticmethod(ds_format)
    datetime = datetime
    timedelta = timedelta
    json = json

    def __getattr__(self, name: str) -> Any:
        if name in ("time", "uuid", "random", "dateutil"):
            import importlib

            return importlib.import_module(name)
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


def build_context(
    *,
    dag: DAG,
    task: BaseOperator,
    run: DagRun,
    ti: Any,
    store: MetadataStore,
) -> dict[str, Any]:
    """The context of one attempt, as templates and callables see it."""
    logical_date = run.logical_date
    ds, ts, ts_nodash = _date_strings(logical_date)
    return {
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
        "ds_nodash": ds.replace("-", ""),
        "ts": ts,
        "ts_nodash": ts_nodash,
        "ts_nodash_with_tz": ts.replace("-", "").replace(":", ""),
        "partition_key": run.partition_key,  # None unless the DAG is partitioned
        # Each attempt gets its own copy: a task that changes its params changes no other's.
        # A task's own params go over the DAG's; the run's conf goes over both.
        "params": task_params(run.params, getattr(task, "params", {}), run.conf, task.task_id),
        "conf": copy.deepcopy(run.conf) if run.conf else {},
        "map_index": ti.map_index,
        "try_number": ti.try_number,
        "var": VariableAccessor(store),
        "conn": ConnectionAccessor(store),
        "macros": MACROS,
        **asset_context(task, run, store),  # outlet_events, inlet_events, ...
    }
