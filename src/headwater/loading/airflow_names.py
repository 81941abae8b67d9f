"""Which headwater object each Airflow name stands for, module by module: the table behind
:mod:`headwater.loading.airflow_imports`. A value is ``"module:attribute"``, imported when a
DAG file first uses the name.

Airflow 3's ``airflow.sdk`` and the modules Airflow 2 files import (``airflow.models``,
``airflow.operators.*``, ``airflow.decorators``, ...) resolve to the same objects. A module
or name missing here is refused with an error that says so (and which module it was).
"""

from __future__ import annotations

_HW = "headwater"
_OPERATORS = "headwater.operators"
_SENSORS = "headwater.sensors"

_AUTHORING = {
    "BaseSensorOperator": f"{_SENSORS}:BaseSensorOperator",
    "PokeReturnValue": f"{_SENSORS}:PokeReturnValue",
    "DAG": f"{_HW}:DAG",
    "dag": f"{_HW}:dag",
    "task": f"{_HW}:task",
    "task_group": f"{_HW}:task_group",
    "TaskGroup": f"{_HW}:TaskGroup",
    "BaseOperator": f"{_HW}:BaseOperator",
    "Param": f"{_HW}:Param",
    "Asset": f"{_HW}:Asset",
    "AssetAlias": f"{_HW}:AssetAlias",
    "AssetAll": f"{_HW}:AssetAll",
    "AssetAny": f"{_HW}:AssetAny",
    "Dataset": f"{_HW}:Dataset",
    "Metadata": f"{_HW}:Metadata",
    "asset": f"{_HW}:asset",
    "chain": f"{_HW}:chain",
    "cross_downstream": f"{_HW}:cross_downstream",
    "get_current_context": f"{_HW}:get_current_context",
    "Label": f"{_HW}:Label",
    "TriggerRule": f"{_HW}:TriggerRule",
    "XComArg": f"{_HW}:XComArg",
    "setup": f"{_HW}:setup",
    "teardown": f"{_HW}:teardown",
}

_BASH = {"BashOperator": f"{_OPERATORS}:BashOperator"}
_EMPTY = {"EmptyOperator": f"{_OPERATORS}:EmptyOperator"}
_PYTHON = {
    name: f"{_OPERATORS}:{name}"
    for name in (
        "PythonOperator",
        "BranchPythonOperator",
        "ShortCircuitOperator",
        "PythonVirtualenvOperator",
        "ExternalPythonOperator",
    )
} | {"get_current_context": f"{_HW}:get_current_context"}


def _names(where: str, *names: str) -> dict[str, str]:
    return {name: f"{where}:{name}" for name in names}


def _standard(module: str, names: dict[str, str]) -> dict[str, dict[str, str]]:
    """``module`` under ``airflow.`` (Airflow 2) and ``airflow.providers.standard.``
    (Airflow 3's standard provider)."""
    return {f"airflow.{module}": names, f"airflow.providers.standard.{module}": names}


_SQL = _names(
    _OPERATORS,
    "SQLExecuteQueryOperator",
    "SQLCheckOperator",
    "SQLColumnCheckOperator",
    "SQLTableCheckOperator",
    "SQLThresholdCheckOperator",
    "SQLValueCheckOperator",
)

MODULES: dict[str, dict[str, str]] = {
    "airflow": {"DAG": f"{_HW}:DAG", "Asset": f"{_HW}:Asset", "Dataset": f"{_HW}:Dataset"},
    "airflow.sdk": _AUTHORING,
    "airflow.decorators": {
        name: _AUTHORING[name] for name in ("dag", "task", "task_group", "setup", "teardown")
    },
    "airflow.models": {
        name: _AUTHORING[name] for name in ("DAG", "BaseOperator", "Param", "XComArg")
    },
    "airflow.models.dag": {"DAG": f"{_HW}:DAG"},
    "airflow.models.baseoperator": {
        name: _AUTHORING[name] for name in ("BaseOperator", "chain", "cross_downstream")
    },
    "airflow.models.param": {"Param": f"{_HW}:Param"},
    "airflow.operators.bash": _BASH,
    "airflow.operators.empty": _EMPTY,
    "airflow.operators.python": _PYTHON,
    "airflow.providers.standard.operators.bash": _BASH,
    "airflow.providers.standard.operators.empty": _EMPTY,
    "airflow.providers.standard.operators.python": _PYTHON,
    **_standard("sensors.filesystem", _names(_SENSORS, "FileSensor")),
    **_standard("sensors.python", _names(_SENSORS, "PythonSensor")),
    **_standard("sensors.time_delta", _names(_SENSORS, "TimeDeltaSensor", "TimeDeltaSensorAsync")),
    **_standard("sensors.date_time", _names(_SENSORS, "DateTimeSensor", "DateTimeSensorAsync")),
    **_standard(
        "sensors.external_task", _names(_SENSORS, "ExternalTaskSensor", "ExternalTaskMarker")
    ),
    "airflow.sensors.base": _names(_SENSORS, "BaseSensorOperator", "PokeReturnValue"),
    **_standard("operators.trigger_dagrun", _names(_OPERATORS, "TriggerDagRunOperator")),
    **_standard("operators.latest_only", _names(_OPERATORS, "LatestOnlyOperator")),
    **_standard("operators.datetime", _names(_OPERATORS, "BranchDateTimeOperator")),
    **_standard("operators.weekday", _names(_OPERATORS, "BranchDayOfWeekOperator")),
    **_standard("operators.branch", _names(_OPERATORS, "BaseBranchOperator")),
    "airflow.utils.weekday": _names(_OPERATORS, "WeekDay"),
    "airflow.operators.email": _names(_OPERATORS, "EmailOperator"),
    "airflow.providers.smtp.operators.smtp": _names(_OPERATORS, "EmailOperator"),
    "airflow.providers.http.operators.http": _names(_OPERATORS, "HttpOperator"),
    "airflow.providers.http.sensors.http": _names(_SENSORS, "HttpSensor"),
    "airflow.providers.common.sql.operators.sql": _SQL,
    "airflow.providers.common.sql.sensors.sql": _names(_SENSORS, "SqlSensor"),
    "airflow.utils.trigger_rule": {"TriggerRule": f"{_HW}:TriggerRule"},
    "airflow.utils.task_group": {"TaskGroup": f"{_HW}:TaskGroup"},
    "airflow.utils.edgemodifier": {"Label": f"{_HW}:Label"},
    "airflow.exceptions": {
        "AirflowException": "headwater.exceptions:HeadwaterError",
        "AirflowSkipException": "headwater.exceptions:TaskSkipped",
        "AirflowFailException": "headwater.exceptions:TaskFailedNoRetry",
    },
}
"""Airflow module -> {name: "headwater module:attribute"}."""
