"""Airflow's ``DAG`` and ``@dag``, for Airflow DAG files run with ``[core] airflow_compat``.

``from airflow import DAG`` (and ``airflow.sdk``, ``airflow.models``, ``@dag``) give these.
They build headwater's own :class:`headwater.authoring.dag.DAG` and differ from it only where
Airflow accepts what headwater's native API refuses:

* a naive ``start_date`` / ``end_date`` (also in ``default_args``) is read in
  ``[core] default_timezone`` (UTC unless set), as Airflow does; headwater's own ``DAG``
  keeps asking for a zone;
* a DAG without ``start_date`` takes ``default_args["start_date"]`` (Airflow's scheduler does);
* Airflow 2's ``schedule_interval=`` and ``timetable=`` and ``concurrency=`` are accepted with
  an :class:`AirflowDeprecationWarning` naming what replaces them;
* the arguments in :data:`IGNORED_ARGUMENTS`, which only steer Airflow's own UI or internals,
  are accepted and ignored;
* its tasks' ``weight_rule`` is Airflow's default, ``downstream``, unless they set one.

Example (in a DAG file)::

    from airflow import DAG
    with DAG("legacy", start_date=datetime(2024, 1, 1), schedule_interval="@daily"):
        ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ParamSpec, overload
from zoneinfo import ZoneInfo

from headwater.airflow_compat.helpers import AirflowDeprecationWarning, warn_deprecated
from headwater.authoring import dag as native
from headwater.authoring.operator_arguments import unknown_arguments
from headwater.exceptions import DagDefinitionError

__all__ = ["DAG", "IGNORED_ARGUMENTS", "AirflowDeprecationWarning", "dag", "default_timezone"]

P = ParamSpec("P")

IGNORED_ARGUMENTS: Mapping[str, str] = {
    "access_control": "Airflow's UI permissions",
    "auto_register": "Airflow's DAG processor",
    "default_view": "Airflow's UI",
    "disable_bundle_versioning": "Airflow 3's DAG bundles",
    "full_filepath": "Airflow 1's DAG processor",
    "orientation": "Airflow's UI",
    "owner_links": "Airflow's UI",
    "rerun_with_latest_version": "Airflow 3's DAG bundles",
}
"""DAG arguments of Airflow 2.10 and 3 that only steer Airflow's own UI or internals, with
what they steer: an Airflow DAG may give them; headwater ignores them."""


_NOTSET: Any = object()


@functools.cache
def default_timezone() -> ZoneInfo:
    """``[core] default_timezone`` of this process's settings (read once): the zone of
    naive dates in Airflow DAG files."""
    from headwater.settings import load_settings

    return ZoneInfo(load_settings().core.default_timezone)


def _aware(value: Any, name: str, dag_id: str) -> Any:
    """A naive datetime localized in the default zone (an ISO string in ``default_args``
    parsed first, as Airflow); anything else as it is (the native DAG checks it)."""
    if isinstance(value, str) and name.startswith("default_args"):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise DagDefinitionError(
                f"DAG {dag_id!r}: {name} {value!r} is not an ISO 8601 date"
            ) from None
    if isinstance(value, datetime) and value.tzinfo is None:
        # fold=1: an ambiguous wall time (clocks going back) is its second instance, as Airflow.
        return value.replace(tzinfo=default_timezone(), fold=1)
    return value


class DAG(native.DAG):
    """headwater's :class:`~headwater.authoring.dag.DAG` with Airflow's looser arguments
    (see the module's docstring). Example::

        with DAG("tutorial", start_date=datetime(2021, 1, 1), schedule_interval=timedelta(1)):
            BashOperator(task_id="print_date", bash_command="date")
    """

    default_weight_rule = "downstream"  # Airflow's default (authoring/weight_rule.py)

    def __init__(
        self,
        dag_id: str,
        description: str | None = None,
        *,
        schedule: Any = _NOTSET,
        schedule_interval: Any = _NOTSET,
        timetable: Any = None,
        concurrency: int | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        default_args: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        schedule = _one_schedule(dag_id, schedule, schedule_interval, timetable)
        if concurrency is not None:
            if "max_active_tasks" in kwargs:
                raise DagDefinitionError(
                    f"DAG {dag_id!r}: give max_active_tasks or concurrency (its old name), not both"
                )
            warn_deprecated(
                f"DAG {dag_id!r}: concurrency is deprecated (removed in Airflow 3); "
                "use max_active_tasks"
            )
            kwargs["max_active_tasks"] = concurrency
        for name in [k for k in kwargs if k in IGNORED_ARGUMENTS]:
            del kwargs[name]
        known = native.init_arguments(native.DAG) or frozenset()
        if unknown := [k for k in kwargs if k not in known]:
            raise DagDefinitionError(f"DAG {dag_id!r}: {unknown_arguments(type(self), unknown)}")
        if isinstance(default_args, Mapping):
            default_args = dict(default_args)
            for name in ("start_date", "end_date"):
                if default_args.get(name) is not None:
                    default_args[name] = _aware(
                        default_args[name], f"default_args[{name!r}]", dag_id
                    )
            if start_date is None:
                start_date = default_args.get("start_date")
        super().__init__(
            dag_id,
            description=description,
            schedule=schedule,
            start_date=_aware(start_date, "start_date", dag_id),
            end_date=_aware(end_date, "end_date", dag_id),
            default_args=default_args,
            **kwargs,
        )


def _one_schedule(dag_id: str, schedule: Any, schedule_interval: Any, timetable: Any) -> Any:
    """The schedule from ``schedule``, or Airflow 2's ``schedule_interval`` or
    ``timetable`` (with a warning); more than one is an error."""
    given = [
        name
        for name, value in (
            ("schedule", schedule),
            ("schedule_interval", schedule_interval),
            ("timetable", timetable),
        )
        if value is not _NOTSET and not (name == "timetable" and value is None)
    ]
    if len(given) > 1:
        raise DagDefinitionError(
            f"DAG {dag_id!r}: give one of {' and '.join(given)}, not both; "
            "schedule replaces the others"
        )
    if schedule_interval is not _NOTSET:
        warn_deprecated(
            f"DAG {dag_id!r}: schedule_interval is deprecated (removed in Airflow 3); use schedule"
        )
        return schedule_interval
    if timetable is not None:
        warn_deprecated(
            f"DAG {dag_id!r}: timetable is deprecated (removed in Airflow 3); "
            "use schedule=<the timetable>"
        )
        return timetable
    return None if schedule is _NOTSET else schedule


@overload
def dag(dag_id: Callable[P, Any]) -> Callable[P, DAG]: ...
@overload
def dag(
    dag_id: str | None = None, **dag_kwargs: Any
) -> Callable[[Callable[P, Any]], Callable[P, DAG]]: ...


def dag(dag_id: Any = None, **dag_kwargs: Any) -> Any:
    """Airflow's ``@dag``: as :func:`headwater.dag`, building the Airflow :class:`DAG`
    (naive dates, ``schedule_interval=``, ...). Example::

        @dag(schedule_interval="@daily", start_date=datetime(2024, 1, 1))
        def etl():
            ...

        etl()
    """
    return native.dag_decorator(DAG, dag_id, dag_kwargs)
