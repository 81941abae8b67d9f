"""The operators that ship with headwater."""

from typing import TYPE_CHECKING, Any

from headwater.operators.bash import BashOperator
from headwater.operators.branch import (
    BaseBranchOperator,
    BranchDateTimeOperator,
    BranchDayOfWeekOperator,
)
from headwater.operators.empty import EmptyOperator
from headwater.operators.latest_only import LatestOnlyOperator
from headwater.operators.python import BranchPythonOperator, PythonOperator, ShortCircuitOperator
from headwater.operators.trigger_dagrun import TriggerDagRunOperator
from headwater.operators.weekday import WeekDay

if TYPE_CHECKING:
    from headwater.operators.email import EmailOperator
    from headwater.operators.http import HttpOperator
    from headwater.operators.python_virtualenv import (
        BranchExternalPythonOperator,
        BranchPythonVirtualenvOperator,
        ExternalPythonOperator,
        PythonVirtualenvOperator,
    )
    from headwater.operators.sql import SQLExecuteQueryOperator
    from headwater.operators.sql_checks import (
        SQLCheckOperator,
        SQLColumnCheckOperator,
        SQLTableCheckOperator,
        SQLThresholdCheckOperator,
        SQLValueCheckOperator,
    )

__all__ = [
    "BaseBranchOperator",
    "BashOperator",
    "BranchDateTimeOperator",
    "BranchDayOfWeekOperator",
    "BranchExternalPythonOperator",
    "BranchPythonOperator",
    "BranchPythonVirtualenvOperator",
    "EmailOperator",
    "EmptyOperator",
    "ExternalPythonOperator",
    "HttpOperator",
    "LatestOnlyOperator",
    "PythonOperator",
    "PythonVirtualenvOperator",
    "SQLCheckOperator",
    "SQLColumnCheckOperator",
    "SQLExecuteQueryOperator",
    "SQLTableCheckOperator",
    "SQLThresholdCheckOperator",
    "SQLValueCheckOperator",
    "ShortCircuitOperator",
    "TriggerDagRunOperator",
    "WeekDay",
]

_LAZY = {
    "EmailOperator": "headwater.operators.email",
    "HttpOperator": "headwater.operators.http",
    "BranchExternalPythonOperator": "headwater.operators.python_virtualenv",
    "BranchPythonVirtualenvOperator": "headwater.operators.python_virtualenv",
    "ExternalPythonOperator": "headwater.operators.python_virtualenv",
    "PythonVirtualenvOperator": "headwater.operators.python_virtualenv",
    "SQLExecuteQueryOperator": "headwater.operators.sql",
    "SQLCheckOperator": "headwater.operators.sql_checks",
    "SQLColumnCheckOperator": "headwater.operators.sql_checks",
    "SQLTableCheckOperator": "headwater.operators.sql_checks",
    "SQLThresholdCheckOperator": "headwater.operators.sql_checks",
    "SQLValueCheckOperator": "headwater.operators.sql_checks",
}
"""Imported on first use: their clients (httpx, smtplib, the SQL hooks, the virtualenv cache)
cost DAG files that never use them."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'headwater.operators' has no attribute {name!r}")
