"""Converting between the engine's records and the rows of the tables, for the SQL store.

The table handles (``RUNS``, ``TIS``, ...) are the models' Core tables; ``*_params``
functions turn a record into the parameters of an INSERT, ``to_*`` a row back into a
record. State enums are stored as their text value.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam

from headwater.db.models import (
    ApiTokenModel,
    ConnectionModel,
    DagFileModel,
    DagModel,
    DagRunModel,
    EventModel,
    ImportErrorModel,
    JobModel,
    LoginFailureModel,
    PoolModel,
    RoleModel,
    SessionModel,
    TaskAttemptModel,
    TaskInstanceModel,
    UserModel,
    VariableModel,
    XComModel,
)
from headwater.db.rows import AttemptKey, DagRow
from headwater.engine.records import (
    AttemptOutcome,
    DagRun,
    TaskAttempt,
    TaskInstance,
    TaskInstanceKey,
)
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.store.base import Connection


def _table(model: type) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


RUNS = _table(DagRunModel)
TIS = _table(TaskInstanceModel)
ATTEMPTS = _table(TaskAttemptModel)
XCOMS = _table(XComModel)
DAGS = _table(DagModel)
DAG_FILES = _table(DagFileModel)
IMPORT_ERRORS = _table(ImportErrorModel)
POOLS = _table(PoolModel)
VARIABLES = _table(VariableModel)
CONNECTIONS = _table(ConnectionModel)
EVENTS = _table(EventModel)
JOBS = _table(JobModel)
USERS = _table(UserModel)
ROLES = _table(RoleModel)
API_TOKENS = _table(ApiTokenModel)
SESSIONS = _table(SessionModel)
LOGIN_FAILURES = _table(LoginFailureModel)

TI_FIELDS = tuple(f.name for f in dataclasses.fields(TaskInstance))
ATTEMPT_FIELDS = tuple(f.name for f in dataclasses.fields(TaskAttempt))
RUN_FIELDS = tuple(f.name for f in dataclasses.fields(DagRun))
DAG_FIELDS = tuple(f.name for f in dataclasses.fields(DagRow))
CONNECTION_FIELDS = tuple(f.name for f in dataclasses.fields(Connection))
ACTIVE_RUN_STATES = (DagRunState.QUEUED.value, DagRunState.RUNNING.value)
RUNNING = TaskInstanceState.RUNNING.value
SCHEDULER_OWNED = (
    "is_paused",
    "next_dagrun_logical_date",
    "next_dagrun_data_interval_start",
    "next_dagrun_data_interval_end",
    "next_dagrun_create_after",
)
"""Columns of ``dags`` that people and the scheduler set, which a re-parse keeps."""


# -- WHERE clauses and bound keys ------------------------------------------------------------


def state_values(states: Iterable[str]) -> list[str]:
    """State enums (or their names) as the text stored."""
    return [str(state) for state in states]


def run_key(dag_id: str, run_id: str, table: Table = RUNS) -> tuple[Any, Any]:
    """The WHERE clause picking one run's rows of ``table``."""
    return (table.c.dag_id == dag_id, table.c.run_id == run_id)


def ti_where(key: TaskInstanceKey, table: Table) -> tuple[Any, ...]:
    """The WHERE clause picking one task instance's rows of ``table``."""
    return (
        *run_key(key.dag_id, key.run_id, table),
        table.c.task_id == key.task_id,
        table.c.map_index == key.map_index,
    )


def attempt_where(key: AttemptKey) -> tuple[Any, ...]:
    ti_key = TaskInstanceKey(key.dag_id, key.run_id, key.task_id, key.map_index)
    return (*ti_where(ti_key, ATTEMPTS), ATTEMPTS.c.try_number == key.try_number)


def bound_key(table: Table, names: Iterable[str]) -> tuple[Any, ...]:
    """``table.<name> = :k_<name>`` for each name: the WHERE of a statement built once and
    bound by :func:`key_params` / :func:`attempt_key_params` (or ``k_``-prefixed values)."""
    return tuple(table.c[name] == bindparam(f"k_{name}") for name in names)


def key_params(key: TaskInstanceKey) -> dict[str, Any]:
    """Parameters for statements bound by ``k_<field>`` (named apart from the columns)."""
    return {
        "k_dag_id": key.dag_id,
        "k_run_id": key.run_id,
        "k_task_id": key.task_id,
        "k_map_index": key.map_index,
    }


def attempt_key_params(key: AttemptKey) -> dict[str, Any]:
    return {f"k_{name}": value for name, value in key._asdict().items()}


# -- records -> INSERT parameters, rows -> records -------------------------------------------


def run_params(run: DagRun) -> dict[str, Any]:
    params = {name: getattr(run, name) for name in RUN_FIELDS}
    params["state"] = run.state.value
    return params


def to_run(row: Row[Any]) -> DagRun:
    values = row._mapping
    run = DagRun(**{name: values[name] for name in RUN_FIELDS})
    run.state = DagRunState(run.state)
    return run


def ti_params(ti: TaskInstance, now: datetime) -> dict[str, Any]:
    """The row of ``ti`` written at ``now`` (``queued_at`` only when it is queued)."""
    params = {name: getattr(ti, name) for name in TI_FIELDS}
    params["state"] = state = ti.state.value
    params["queued_at"] = now if state == "queued" else None
    params["updated_at"] = now
    return params


def to_ti(row: Row[Any]) -> TaskInstance:
    values = row._mapping
    ti = TaskInstance(**{name: values[name] for name in TI_FIELDS})
    ti.state = TaskInstanceState(ti.state)
    return ti


def attempt_params(attempt: TaskAttempt) -> dict[str, Any]:
    """The row of ``attempt``; a new row's heartbeat is its start and it has no worker yet."""
    params = {name: getattr(attempt, name) for name in ATTEMPT_FIELDS}
    params["state"] = attempt.state.value
    params["duration"] = attempt.duration
    params["heartbeat_at"] = attempt.start_date
    params["worker"] = None
    params["outcome"] = outcome_json(attempt.outcome)
    return params


def outcome_json(outcome: AttemptOutcome | None) -> dict[str, Any] | None:
    """What the ``outcome`` column holds: the outcome without what has columns of its own
    (``error``, ``rendered_fields``)."""
    if outcome is None:
        return None
    data = outcome.to_json()
    del data["error"], data["rendered_fields"], data["recorded"]
    return data


def to_attempt(row: Row[Any]) -> TaskAttempt:
    values = row._mapping
    fields = {name: values[name] for name in ATTEMPT_FIELDS if name != "outcome"}
    attempt = TaskAttempt(**fields)
    attempt.state = TaskInstanceState(attempt.state)
    data = values["outcome"]
    if data is not None:
        outcome = {**data, "error": attempt.error, "rendered_fields": attempt.rendered_fields}
        attempt.outcome = AttemptOutcome.from_json({**outcome, "recorded": True})
    return attempt


def dag_params(dag: DagRow) -> dict[str, Any]:
    """The row of ``dag``: the serialized DAG is stored as JSON text."""
    params = {name: getattr(dag, name) for name in DAG_FIELDS}
    if dag.serialized is not None:
        params["serialized"] = json.dumps(dag.serialized)
    return params


def to_dag(row: Row[Any]) -> DagRow:
    values = dict(row._mapping)
    serialized = values.pop("serialized")
    values["serialized"] = json.loads(serialized) if serialized is not None else None
    values["tags"] = list(values["tags"] or [])
    return DagRow(**{name: values[name] for name in DAG_FIELDS})


def event(kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
    """An ``events`` row; every column is given (executemany needs the same keys in each)."""
    params = dict.fromkeys(
        ("dag_id", "run_id", "task_id", "map_index", "try_number", "state", "detail", "actor")
    )
    params.update(fields, kind=kind, at=at)
    return params
