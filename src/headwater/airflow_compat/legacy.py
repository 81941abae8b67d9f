"""Airflow 2 names that Airflow 3 removed but real DAG files still use: thin stand-ins over
headwater's operators, each warning (:class:`AirflowDeprecationWarning`) with the name to use
instead.

    DummyOperator                          -> EmptyOperator
    days_ago(n)                            -> a fixed start_date
    PostgresOperator(postgres_conn_id=...) -> SQLExecuteQueryOperator(conn_id=...)
    SqliteOperator(sqlite_conn_id=...)     -> SQLExecuteQueryOperator(conn_id=...)
    MySqlOperator(mysql_conn_id=...)       -> SQLExecuteQueryOperator(conn_id=...)
    SimpleHttpOperator                     -> HttpOperator
    SubDagOperator                         refused: use a TaskGroup
    DatasetOrTimeSchedule(datasets=...)    -> AssetOrTimeSchedule(assets=...), no warning

The SQL and HTTP stand-ins are built on first use (:func:`__getattr__`): their clients cost
DAG files that only use ``DummyOperator`` or ``days_ago``.

Whole modules that moved (``airflow.operators.bash_operator``...) warn when imported: see
``DEPRECATED_MODULES`` in :mod:`headwater.loading.airflow_names`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from headwater.airflow_compat.helpers import utcnow, warn_deprecated
from headwater.authoring.assets import AssetOrTimeSchedule
from headwater.exceptions import DagDefinitionError
from headwater.operators import EmptyOperator

# Also MySqlOperator, PostgresOperator, SimpleHttpOperator, SqliteOperator: see __getattr__.
__all__ = [
    "DatasetOrTimeSchedule",
    "DummyOperator",
    "SubDagOperator",
    "days_ago",
]


class DummyOperator(EmptyOperator):
    """Airflow 2's old name for :class:`~headwater.operators.EmptyOperator`."""

    def __init__(self, **kwargs: Any) -> None:
        warn_deprecated(
            "DummyOperator is deprecated (removed in Airflow 3): use EmptyOperator from "
            "airflow.operators.empty (airflow.providers.standard.operators.empty)"
        )
        super().__init__(**kwargs)


def days_ago(
    n: int, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0
) -> datetime:
    """Midnight (or ``hour:minute:second``) UTC ``n`` days ago, as Airflow 2's ``days_ago``.

    A start date that moves with every parse is why Airflow removed it: give a fixed
    ``start_date`` instead."""
    warn_deprecated(
        "airflow.utils.dates.days_ago is deprecated (removed in Airflow 3): give a fixed "
        "start_date, e.g. datetime(2024, 1, 1, tzinfo=timezone.utc)"
    )
    today = utcnow().replace(hour=hour, minute=minute, second=second, microsecond=microsecond)
    return today - timedelta(days=n)


class DatasetOrTimeSchedule(AssetOrTimeSchedule):
    """Airflow 2.x's name (and ``datasets=`` keyword) for
    :class:`~headwater.AssetOrTimeSchedule`: runs on the timetable and when the datasets
    update. Not deprecated in Airflow 2.10, so it does not warn."""

    def __init__(self, *, timetable: Any, datasets: Any) -> None:
        super().__init__(timetable=timetable, assets=datasets)


class SubDagOperator(EmptyOperator):
    """Refused: SubDAGs are gone from Airflow 3 too. Its constructor raises a
    :class:`~headwater.exceptions.DagDefinitionError` that points to TaskGroups."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        subdag = kwargs.get("subdag")
        inner = getattr(subdag, "dag_id", None)
        raise DagDefinitionError(
            f"task {kwargs.get('task_id')!r}: SubDagOperator is not supported (Airflow 3 "
            f"removed it too){f' for sub-DAG {inner!r}' if inner else ''}: put the sub-DAG's "
            "tasks in a TaskGroup (airflow.utils.task_group.TaskGroup or @task_group) instead"
        )


def _provider_operators() -> dict[str, type[Any]]:
    """The SQL and HTTP stand-ins, their base classes imported now."""
    from headwater.operators import HttpOperator, SQLExecuteQueryOperator

    class _ProviderSqlOperator(SQLExecuteQueryOperator):
        """A provider's own SQL operator of Airflow 2: its ``<kind>_conn_id`` is ``conn_id``."""

        conn_argument = ""
        default_conn_id = ""

        def __init__(
            self,
            *,
            sql: Any,
            database: str | None = None,
            hook_params: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> None:
            old = type(self).__name__
            warn_deprecated(
                f"{old} is deprecated (removed from its provider): use SQLExecuteQueryOperator "
                f"from airflow.providers.common.sql.operators.sql with "
                f"conn_id= instead of {self.conn_argument}="
            )
            if "conn_id" in kwargs:
                raise DagDefinitionError(
                    f"task {kwargs.get('task_id')!r} ({old}): give {self.conn_argument}, not "
                    f"conn_id (or use SQLExecuteQueryOperator)"
                )
            conn_id = kwargs.pop(self.conn_argument, self.default_conn_id)
            params = dict(hook_params or {})
            if database is not None:
                params.setdefault("schema", database)
            super().__init__(sql=sql, conn_id=conn_id, hook_params=params, **kwargs)

    class PostgresOperator(_ProviderSqlOperator):
        """``PostgresOperator(postgres_conn_id=...)``: a SQLExecuteQueryOperator."""

        conn_argument = "postgres_conn_id"
        default_conn_id = "postgres_default"

    class SqliteOperator(_ProviderSqlOperator):
        """``SqliteOperator(sqlite_conn_id=...)``: a SQLExecuteQueryOperator."""

        conn_argument = "sqlite_conn_id"
        default_conn_id = "sqlite_default"

    class MySqlOperator(_ProviderSqlOperator):
        """``MySqlOperator(mysql_conn_id=...)``: a SQLExecuteQueryOperator."""

        conn_argument = "mysql_conn_id"
        default_conn_id = "mysql_default"

    class SimpleHttpOperator(HttpOperator):
        """Airflow 2's old name for :class:`~headwater.operators.HttpOperator`."""

        def __init__(self, **kwargs: Any) -> None:
            warn_deprecated(
                "SimpleHttpOperator is deprecated: use HttpOperator from "
                "airflow.providers.http.operators.http"
            )
            super().__init__(**kwargs)

    built: dict[str, type[Any]] = {
        "MySqlOperator": MySqlOperator,
        "PostgresOperator": PostgresOperator,
        "SimpleHttpOperator": SimpleHttpOperator,
        "SqliteOperator": SqliteOperator,
        "_ProviderSqlOperator": _ProviderSqlOperator,
    }
    for name, cls in built.items():  # importable by name, like a class of the module
        cls.__qualname__ = name
    return built


_LAZY = ("MySqlOperator", "PostgresOperator", "SimpleHttpOperator", "SqliteOperator")


def __getattr__(name: str) -> Any:
    """The SQL and HTTP stand-ins, built (and kept as module globals) on first use."""
    if name in _LAZY:
        globals().update(_provider_operators())
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
