"""A DAG's structure as JSON, and back: what the scheduler works from instead of DAG code.

The DAG-folder processor imports DAG files and stores ``serialize_dag(dag)``; the scheduler
calls ``deserialize_dag(data)`` and drives the very same engine
(:class:`headwater.engine.dagrun.DagRunEngine`) with the result. The rebuilt DAG is made of
real authoring objects (``DAG``, ``TaskGroup``, ``MappedOperator``, ``XComArg``, ``Param``),
so the engine, schedules and ``resolve_params`` need no special case. Its tasks are
stand-ins that keep every setting the engine reads but no code: running one raises, since
workers import the DAG file to run a task. A callback that is set becomes a stand-in that
raises the same way, so ``dag.on_failure_callback is not None`` still says one exists
(:mod:`headwater.dag_processing.serialized_stand_ins`).

The format (``SERIALIZATION_VERSION`` 1), all plain JSON::

    {"version": 1,
     "dag": {"dag_id", "fileloc", "schedule", "start_date", "end_date", "catchup",
             "max_active_runs", "max_active_tasks", "dagrun_timeout", "tags", "description",
             "doc_md", "is_paused_upon_creation",
             "callbacks": ["on_failure_callback", ...],        # the ones that are set
             "params": {name: {"schema", "description", "default"?}},  # no "default": required
             "task_groups": [{"group_id", "parent_group_id", "prefix_group_id", "tooltip",
                              "expand"?}],   # a mapped group: serialized_mapped_groups.py
             "tasks": [{"task_id", "operator", "task_group", "upstream_task_ids",
                        "downstream_task_ids", "trigger_rule", "retries", "retry_delay",
                        "retry_exponential_backoff", "max_retry_delay", "execution_timeout",
                        "pool", "pool_slots", "priority_weight", "weight_rule"?, "queue",
                        "owner", "doc_md", "template_fields", "multiple_outputs", "callbacks",
                        "mapped": null or {"mapped_field", "expand"},  # serialized_mapped_tasks.py
                        "is_setup"?, "is_teardown"?, "on_failure_fail_dagrun"?,
                        "depends_on_past"?, "wait_for_downstream"?,
                        "ignore_first_depends_on_past"?}],
             "edge_info"?: {upstream_id: {downstream_id: {"label": text}}},
             "dag_display_name"?}}

  The keys marked ``?`` are left out when they hold nothing (not a setup, no labels, a
  display name that is the id), so DAGs stored before they existed hash and load the same
  (``serialized_flow.py``). A task's ``"task_display_name"?`` is kept the same way, and so
  are its ``depends_on_past`` flags (stored when True; ``ignore_first_depends_on_past``
  when False), which the scheduler's engine reads (``engine/past_runs.py``).

* ``schedule``: ``null``, a string (``"@once"``, a preset or a cron expression),
  ``{"seconds": n}`` for a timedelta, or ``{"timetable": {"classpath", "data", "summary",
  "description"}}`` for a :class:`~headwater.timetables.Timetable`
  (:mod:`headwater.timetables.serialization`: rebuilt from its class, imported by name).
* Datetimes are ISO 8601 strings with their offset; a ``zoneinfo`` time zone is kept by name
  as a suffix (``"2024-03-01T00:00:00+01:00[Europe/Paris]"``, RFC 9557) because cron
  schedules follow its daylight-saving changes. Timedeltas are seconds.
* Param defaults use the XCom JSON encoding (:mod:`headwater.xcom_serializers`), so dates and
  tuples come back as they were.
* ``mapped``: how a mapped task expands (:mod:`headwater.dag_processing.serialized_mapped_tasks`:
  literal values are not stored, only counted).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from headwater.authoring.dag import DAG
from headwater.authoring.mapping import MappedOperator, OperatorPartial
from headwater.authoring.operator import BaseOperator
from headwater.authoring.params import NO_DEFAULT, Param
from headwater.authoring.schedules import (
    CronSchedule,
    DeltaSchedule,
    NullSchedule,
    OnceSchedule,
    Schedule,
)
from headwater.authoring.task_group import TaskGroup
from headwater.dag_processing.serialized_assets import (
    dump_dag_assets,
    dump_task_assets,
    load_dag_assets,
    load_task_assets,
)
from headwater.dag_processing.serialized_deadlines import dump_deadlines, load_deadlines
from headwater.dag_processing.serialized_errors import SerializedDagError
from headwater.dag_processing.serialized_flow import (
    dump_edge_info,
    dump_setup_teardown,
    load_edge_info,
    load_setup_teardown,
)
from headwater.dag_processing.serialized_mapped_groups import (
    dump_group_mapping,
    load_group_mappings,
    mapped_by_group,
)
from headwater.dag_processing.serialized_mapped_tasks import dump_mapping, load_expand
from headwater.dag_processing.serialized_stand_ins import operator_class, unavailable_callback
from headwater.exceptions import InvalidScheduleError, XComError
from headwater.timetables.schedule_arg import TimetableSchedule
from headwater.timetables.serialization import timetable_from_json, timetable_to_json
from headwater.xcom_serializers import JsonSerializer

SERIALIZATION_VERSION = 1
"""The format version stored in every serialized DAG; bump it on any incompatible change."""

DAG_CALLBACKS = ("on_success_callback", "on_failure_callback")
TASK_CALLBACKS = ("on_success_callback", "on_failure_callback", "on_retry_callback")

_VALUES = JsonSerializer()


# -- public API --------------------------------------------------------------------------------


def serialize_dag(dag: DAG) -> dict[str, Any]:
    """The structure of ``dag`` as a JSON-compatible dict (``json.dumps`` accepts it).

    Example: ``store.save(dag.dag_id, json.dumps(serialize_dag(dag)))``.
    """
    dag.validate()
    data = {
        "version": SERIALIZATION_VERSION,
        "dag": {
            "dag_id": dag.dag_id,
            "fileloc": dag.fileloc,
            "schedule": _dump_schedule(dag),
            "start_date": _dump_datetime(dag.start_date),
            "end_date": _dump_datetime(dag.end_date),
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "max_active_tasks": dag.max_active_tasks,
            "dagrun_timeout": _dump_timedelta(dag.dagrun_timeout),
            "tags": list(dag.tags),
            "description": dag.description,
            "doc_md": dag.doc_md,
            "is_paused_upon_creation": dag.is_paused_upon_creation,
            "callbacks": [name for name in DAG_CALLBACKS if getattr(dag, name)],
            "params": {name: _dump_param(dag.dag_id, name, p) for name, p in dag.params.items()},
            "task_groups": [_dump_group(g) for g in dag.task_groups.values()],
            "tasks": [_dump_task(t) for t in dag.task_dict.values()],
            **dump_dag_assets(dag),
            **dump_deadlines(dag),
            **dump_edge_info(dag),
            **_dump_display_name(dag.dag_display_name, dag.dag_id, "dag_display_name"),
        },
    }
    try:
        # A round trip through text turns tuples into lists, so what a caller holds is
        # exactly what it will read back from the database (and hashes the same).
        result: dict[str, Any] = json.loads(json.dumps(data, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise SerializedDagError(f"DAG {dag.dag_id!r} cannot be stored as JSON: {exc}") from exc
    return result


def deserialize_dag(data: Mapping[str, Any]) -> DAG:
    """Rebuild the DAG that :func:`serialize_dag` described, for the engine to drive.

    Its tasks cannot run (workers import the DAG file for that). Raises
    :class:`SerializedDagError` for another format version or malformed data.
    """
    version = data.get("version") if isinstance(data, Mapping) else None
    if version != SERIALIZATION_VERSION:
        raise SerializedDagError(
            f"serialized DAG has format version {version!r}, but this headwater reads version "
            f"{SERIALIZATION_VERSION}; process the DAG files again to store them in this format"
        )
    spec = data.get("dag")
    dag_id = spec.get("dag_id") if isinstance(spec, Mapping) else None
    try:
        return _load_dag(cast(Mapping[str, Any], spec))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise SerializedDagError(
            f"serialized DAG {dag_id!r} is malformed: {type(exc).__name__}: {exc}"
        ) from exc


def serialized_dag_hash(data: Mapping[str, Any]) -> str:
    """A stable SHA-256 of a serialized DAG: the processor stores a DAG only when it changed."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


# -- writing -----------------------------------------------------------------------------------


def _dump_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    zone = getattr(value.tzinfo, "key", None)  # only a ZoneInfo has a name to keep
    return f"{value.isoformat()}[{zone}]" if isinstance(zone, str) else value.isoformat()


def _dump_timedelta(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _dump_schedule(dag: DAG) -> str | dict[str, Any] | None:
    schedule = dag.schedule
    if isinstance(schedule, TimetableSchedule):
        try:
            return {"timetable": timetable_to_json(schedule.timetable, dag.fileloc)}
        except InvalidScheduleError as exc:
            raise SerializedDagError(f"DAG {dag.dag_id!r}: schedule: {exc}") from None
    if type(schedule) not in (Schedule, NullSchedule, OnceSchedule, CronSchedule, DeltaSchedule):
        raise SerializedDagError(
            f"DAG {dag.dag_id!r}: cannot serialize a schedule of type "
            f"{type(schedule).__name__}; use None, '@once', a cron string or a timedelta"
        )
    if isinstance(schedule, OnceSchedule):
        return "@once"
    if isinstance(schedule, CronSchedule):
        return schedule.description  # as written: "@daily" stays "@daily"
    if isinstance(schedule, DeltaSchedule):
        return {"seconds": schedule.delta.total_seconds()}
    return None


def _dump_param(dag_id: str, name: str, param: Param) -> dict[str, Any]:
    out: dict[str, Any] = {"schema": param.schema, "description": param.description}
    if param.has_default:
        try:
            out["default"] = json.loads(_VALUES.dumps(param.default))
        except XComError as exc:
            raise SerializedDagError(
                f"DAG {dag_id!r}: the default of param {name!r} cannot be stored as JSON: {exc}"
            ) from exc
    return out


def _dump_group(group: TaskGroup) -> dict[str, Any]:
    parent = group.parent_group
    return {
        "group_id": group.group_id,
        "parent_group_id": parent.group_id if parent is not None else None,
        "prefix_group_id": group.prefix_group_id,
        "tooltip": group.tooltip,
        **dump_group_mapping(group),
    }


def _operator_name(task: BaseOperator) -> str:
    cls = task.operator_class if isinstance(task, MappedOperator) else type(task)
    return cls.custom_operator_name or cls.__name__


def _dump_task(task: BaseOperator) -> dict[str, Any]:
    group = task.task_group
    return {
        "task_id": task.task_id,
        "operator": _operator_name(task),
        "task_group": group.group_id if group is not None else None,
        "upstream_task_ids": list(task.upstream_task_ids),
        "downstream_task_ids": list(task.downstream_task_ids),
        "trigger_rule": task.trigger_rule.value,
        "retries": task.retries,
        "retry_delay": _dump_timedelta(task.retry_delay),
        "retry_exponential_backoff": task.retry_exponential_backoff,
        "max_retry_delay": _dump_timedelta(task.max_retry_delay),
        "execution_timeout": _dump_timedelta(task.execution_timeout),
        "pool": task.pool,
        "pool_slots": task.pool_slots,
        "priority_weight": task.priority_weight,
        **({} if task.weight_rule == "absolute" else {"weight_rule": task.weight_rule.value}),
        "queue": task.queue,
        "owner": task.owner,
        "doc_md": task.doc_md,
        "template_fields": list(task.template_fields),
        "multiple_outputs": bool(_multiple_outputs(task)),
        "callbacks": [name for name in TASK_CALLBACKS if getattr(task, name)],
        "mapped": dump_mapping(task)
        if isinstance(task, MappedOperator) and not mapped_by_group(task)
        else None,
        **dump_task_assets(task),
        **_dump_fields(task),
        **dump_setup_teardown(task),
        **_dump_display_name(_task_display_name(task), task.task_id, "task_display_name"),
        **_dump_past_flags(task),
    }


_PAST_FLAG_DEFAULTS = {
    "depends_on_past": False,
    "wait_for_downstream": False,
    "ignore_first_depends_on_past": True,
}
"""The ``depends_on_past`` flags and their defaults: each is stored only when it differs."""


def _dump_past_flags(task: BaseOperator) -> dict[str, bool]:
    """The task's ``depends_on_past`` flags that differ from their defaults; ``{}`` for most
    tasks, so their stored form (and hash) is what it was before the flags existed."""
    return {
        name: value
        for name, default in _PAST_FLAG_DEFAULTS.items()
        if (value := bool(getattr(task, name, default))) != default
    }


def _dump_display_name(name: str, default: str, key: str) -> dict[str, str]:
    """``{key: name}`` when the display name is not the id; ``{}`` otherwise."""
    return {key: name} if name != default else {}


def _task_display_name(task: BaseOperator) -> str:
    if isinstance(task, MappedOperator):  # given to partial(), kept for the unmapped tasks
        return str(task.partial_kwargs.get("task_display_name") or task.task_id)
    return task.task_display_name


def _dump_fields(task: BaseOperator) -> dict[str, Any]:
    """``{"fields": {...}}`` for an operator that names attributes the database must keep
    (``serialized_fields``: an ``ExternalTaskMarker``'s target, which clearing reads);
    nothing for the others, so their stored form is unchanged."""
    names = getattr(type(task), "serialized_fields", ())
    return {"fields": {name: getattr(task, name) for name in names}} if names else {}


def _multiple_outputs(task: BaseOperator) -> Any:
    if isinstance(task, MappedOperator):
        return task.partial_kwargs.get("multiple_outputs", False)
    return getattr(task, "multiple_outputs", False)


# -- reading -----------------------------------------------------------------------------------


def _load_datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    if value.endswith("]"):
        text, _, zone = value[:-1].partition("[")
        return datetime.fromisoformat(text).astimezone(ZoneInfo(zone))
    return datetime.fromisoformat(value)


def _answer_airflow_names() -> bool:
    """A DAG's own timetable class may come from a module that imports Airflow's names (an
    Airflow plugin's timetable): where ``[core] airflow_compat`` is on, they are answered
    here too, as they were where the DAG file was imported. Whether they are."""
    from headwater.loading.airflow_imports import airflow_compat_enabled, install_airflow_names

    return airflow_compat_enabled() and install_airflow_names()


def _load_schedule(spec: Mapping[str, Any]) -> Any:
    schedule = spec["schedule"]
    if isinstance(schedule, dict) and "timetable" in schedule:
        answered = False
        if not schedule["timetable"]["classpath"].startswith("headwater."):
            answered = _answer_airflow_names()
        try:
            return timetable_from_json(schedule["timetable"], spec["fileloc"])
        except InvalidScheduleError as exc:
            hint = ""
            if not answered and "No module named 'airflow" in str(exc):
                hint = " (an Airflow module: turn on [core] airflow_compat where this runs)"
            raise SerializedDagError(
                f"DAG {spec['dag_id']!r} (file {spec['fileloc']}): {exc}{hint}"
            ) from None
    return timedelta(seconds=schedule["seconds"]) if isinstance(schedule, dict) else schedule


def _load_timedelta(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


def _load_dag(spec: Mapping[str, Any]) -> DAG:
    dag = DAG(
        spec["dag_id"],
        schedule=_load_schedule(spec),
        start_date=_load_datetime(spec["start_date"]),
        end_date=_load_datetime(spec["end_date"]),
        catchup=spec["catchup"],
        max_active_runs=spec["max_active_runs"],
        max_active_tasks=spec["max_active_tasks"],
        dagrun_timeout=_load_timedelta(spec["dagrun_timeout"]),
        tags=spec["tags"],
        description=spec["description"],
        doc_md=spec["doc_md"],
        is_paused_upon_creation=spec["is_paused_upon_creation"],
        params={name: _load_param(p) for name, p in spec["params"].items()},
        dag_display_name=spec.get("dag_display_name"),
    )
    dag.fileloc = spec["fileloc"]
    load_dag_assets(dag, spec)
    for name in spec["callbacks"]:
        setattr(dag, name, unavailable_callback)
    for group_spec in spec["task_groups"]:
        _load_group(dag, group_spec)

    task_specs = {t["task_id"]: t for t in spec["tasks"]}
    built: dict[str, BaseOperator] = {}
    building: set[str] = set()

    def get(task_id: str) -> BaseOperator:
        # A mapped task needs the tasks it reads from first; build those on demand.
        if task_id not in built:
            if task_id in building:
                raise SerializedDagError(f"task {task_id!r} maps over its own output")
            building.add(task_id)
            built[task_id] = _load_task(dag, task_specs[task_id], get)
        return built[task_id]

    for task_id in task_specs:
        get(task_id)
    # Restore the stored orders (they fix the topological order the engine evaluates in).
    dag.task_dict = {task_id: built[task_id] for task_id in task_specs}
    for task_id, task_spec in task_specs.items():
        task = built[task_id]
        task._upstream_ids = dict.fromkeys(task_spec["upstream_task_ids"])
        task._downstream_ids = dict.fromkeys(task_spec["downstream_task_ids"])
        if task_spec["task_group"] is not None:
            task.task_group = dag.task_groups[task_spec["task_group"]]
            task.task_group.add(task)
    for task in built.values():
        for down in task.downstream_task_ids:
            if task.task_id not in built[down].upstream_task_ids:
                raise SerializedDagError(
                    f"edge {task.task_id!r} -> {down!r} is stored on one side only"
                )
    load_group_mappings(dag, spec)
    load_edge_info(dag, spec)
    load_deadlines(dag, spec)
    dag.validate()
    return dag


def _load_param(spec: Mapping[str, Any]) -> Param:
    default = _VALUES.loads(json.dumps(spec["default"])) if "default" in spec else NO_DEFAULT
    return Param(default, description=spec["description"], **spec["schema"])


def _load_group(dag: DAG, spec: Mapping[str, Any]) -> TaskGroup:
    group_id: str = spec["group_id"]
    parent = (
        dag.task_groups[spec["parent_group_id"]] if spec["parent_group_id"] is not None else None
    )
    local_id = group_id
    if parent is not None and parent.prefix_group_id:
        local_id = group_id.removeprefix(parent.group_id + ".")
    group = TaskGroup(
        local_id,
        dag=dag,
        parent_group=parent,
        prefix_group_id=spec["prefix_group_id"],
        tooltip=spec["tooltip"],
    )
    if group.group_id != group_id:
        raise SerializedDagError(f"task group {group_id!r} does not fit in its parent's ids")
    return group


def _load_task(
    dag: DAG, spec: Mapping[str, Any], get: Callable[[str], BaseOperator]
) -> BaseOperator:
    kwargs: dict[str, Any] = {
        "task_id": spec["task_id"],  # the full id: the group is attached afterwards
        "dag": dag,
        "trigger_rule": spec["trigger_rule"],
        "retries": spec["retries"],
        "retry_delay": _load_timedelta(spec["retry_delay"]),
        "retry_exponential_backoff": spec["retry_exponential_backoff"],
        "max_retry_delay": _load_timedelta(spec["max_retry_delay"]),
        "execution_timeout": _load_timedelta(spec["execution_timeout"]),
        "pool": spec["pool"],
        "pool_slots": spec["pool_slots"],
        "priority_weight": spec["priority_weight"],
        "weight_rule": spec.get("weight_rule", "absolute"),
        "queue": spec["queue"],
        "owner": spec["owner"],
        "doc_md": spec["doc_md"],
    }
    if "task_display_name" in spec:
        kwargs["task_display_name"] = spec["task_display_name"]
    kwargs.update({name: spec[name] for name in _PAST_FLAG_DEFAULTS if name in spec})
    kwargs.update(dict.fromkeys(spec["callbacks"], unavailable_callback))
    # For a mapped task it lands in partial_kwargs, where ``@task(...).expand()`` keeps it.
    kwargs["multiple_outputs"] = spec["multiple_outputs"]
    cls = operator_class(spec["operator"])
    mapped = spec["mapped"]
    task: BaseOperator
    if mapped is None:
        task = cls(**kwargs)
    else:
        partial = OperatorPartial(cls, kwargs, mapped_field=mapped["mapped_field"])
        task = load_expand(partial, mapped["expand"], get)
    task.template_fields = tuple(spec["template_fields"])
    load_task_assets(task, spec)
    for name, value in spec.get("fields", {}).items():
        setattr(task, name, value)
    load_setup_teardown(task, spec)
    return task
