"""Which headwater object each Airflow name stands for, module by module: the table behind
:mod:`headwater.loading.airflow_imports`. A value is ``"module:attribute"``, imported when a
DAG file first uses the name.

Airflow 3's ``airflow.sdk`` and the modules Airflow 2 files import (``airflow.models``,
``airflow.operators.*``, ``airflow.decorators``, ...) resolve to the same objects. A module
or name missing here is refused with an error that says so (and which module it was). A value
without ``:attribute`` is a module (``timezone`` in ``airflow.providers.common.compat.sdk``).

Airflow 2 modules that Airflow 3 removed still resolve; importing a name from one warns,
naming its replacement (:data:`DEPRECATED_MODULES`). Names Airflow deprecated one by one
(``DummyOperator``, ``days_ago``, ``PostgresOperator``...) are stand-ins in
:mod:`headwater.airflow_compat.legacy` that warn when used.
"""

from __future__ import annotations

_HW = "headwater"
_OPERATORS = "headwater.operators"
_SENSORS = "headwater.sensors"
_COMPAT = "headwater.airflow_compat"
_LEGACY = f"{_COMPAT}.legacy"
_MODELS = f"{_COMPAT}.models"
_HELPERS = f"{_COMPAT}.helpers"
_TIMETABLES = "headwater.timetables"
_HOOKS = "headwater.hooks"
_TRIGGERS = "headwater.triggers"
_ERRORS = "headwater.exceptions"

_RETRY_POLICIES = {
    name: f"{_HW}:{name}"
    for name in ("ExceptionRetryPolicy", "RetryAction", "RetryDecision", "RetryPolicy", "RetryRule")
}
"""Airflow 3.3's retry policies (``airflow.sdk``, ``airflow.sdk.definitions.retry_policy``)."""

_PARTITIONS = {
    name: f"{_HW}.partitions:{name}"
    for name in (
        "AllowedKeyMapper",
        "ChainMapper",
        "CronPartitionTimetable",
        "DayWindow",
        "FanOutMapper",
        "FixedKeyMapper",
        "HourWindow",
        "IdentityMapper",
        "MinimumCount",
        "MonthWindow",
        "PartitionMapper",
        "PartitionedAssetTimetable",
        "PartitionedAtRuntime",
        "ProductMapper",
        "QuarterWindow",
        "RollupMapper",
        "SegmentWindow",
        "StartOfDayMapper",
        "StartOfHourMapper",
        "StartOfMonthMapper",
        "StartOfQuarterMapper",
        "StartOfWeekMapper",
        "StartOfYearMapper",
        "WaitForAll",
        "WeekWindow",
        "Window",
        "YearWindow",
    )
}
"""Airflow 3.3's partitioned assets (``airflow.sdk``): :mod:`headwater.partitions`."""

_AUTHORING = {
    "BaseSensorOperator": f"{_SENSORS}:BaseSensorOperator",
    "PokeReturnValue": f"{_SENSORS}:PokeReturnValue",
    "DAG": "headwater.airflow_compat.dag:DAG",
    "dag": "headwater.airflow_compat.dag:dag",
    "task": f"{_HW}:task",
    "task_group": f"{_HW}:task_group",
    "TaskGroup": f"{_HW}:TaskGroup",
    "BaseOperator": f"{_HW}:BaseOperator",
    "Param": f"{_HW}:Param",
    "AssetAccessControl": "headwater.authoring.asset_access:AssetAccessControl",
    "AssetWatcher": "headwater.authoring.asset_watchers:AssetWatcher",
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
    "AssetOrTimeSchedule": f"{_HW}:AssetOrTimeSchedule",
    "BaseHook": f"{_HOOKS}:BaseHook",
    "Connection": f"{_MODELS}:Connection",
    "Context": f"{_HELPERS}:Context",
    "Variable": f"{_MODELS}:Variable",
    **_RETRY_POLICIES,
    **_PARTITIONS,
    **{
        name: f"{_TIMETABLES}:{name}"
        for name in (
            "CronDataIntervalTimetable",
            "CronTriggerTimetable",
            "DeltaDataIntervalTimetable",
            "EventsTimetable",
            "MultipleCronTriggerTimetable",
        )
    },
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
        "BranchPythonVirtualenvOperator",
        "BranchExternalPythonOperator",
    )
} | {
    "get_current_context": f"{_HW}:get_current_context",
    "is_venv_installed": f"{_HELPERS}:is_venv_installed",
}


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

_EXCEPTIONS = {
    "AirflowException": f"{_ERRORS}:HeadwaterError",
    "AirflowSkipException": f"{_ERRORS}:TaskSkipped",
    "AirflowFailException": f"{_ERRORS}:TaskFailedNoRetry",
    "AirflowSensorTimeout": f"{_ERRORS}:SensorTimeout",
    "AirflowTaskTimeout": f"{_ERRORS}:TaskTimeoutError",
    "AirflowRescheduleException": f"{_ERRORS}:TaskRescheduled",
    "TaskDeferred": f"{_ERRORS}:TaskDeferred",
    "DuplicateTaskIdFound": f"{_ERRORS}:DuplicateTaskIdError",
    "ParamValidationError": f"{_ERRORS}:ParamValidationError",
    "AirflowConfigException": f"{_COMPAT}.configuration:AirflowConfigError",
}
"""Airflow's exceptions that headwater has an equivalent of (``airflow.exceptions`` and
Airflow 3's ``airflow.sdk.exceptions``)."""

_TIMEZONE = _names(
    _HELPERS,
    "convert_to_utc",
    "datetime",
    "is_localized",
    "is_naive",
    "make_aware",
    "make_naive",
    "parse",
    "utc",
    "utcnow",
)

_DATASETS = {
    "Dataset": f"{_HW}:Dataset",
    "DatasetAlias": f"{_HW}:AssetAlias",
    "DatasetAll": f"{_HW}:AssetAll",
    "DatasetAny": f"{_HW}:AssetAny",
}

_COMPAT_SDK = {
    **_AUTHORING,
    **{
        name: _EXCEPTIONS[name]
        for name in ("AirflowException", "AirflowSkipException", "AirflowFailException")
    },
    "timezone": "airflow.utils.timezone",
}
"""``airflow.providers.common.compat.sdk``: what the standard provider's example files import
from it (the SDK's names, ``timezone``, ``Context``)."""

_TRIGGERS_BY_MODULE = {
    "triggers.file": _names(
        _TRIGGERS, "FileTrigger", "FileDeleteTrigger", "DirectoryFileDeleteTrigger"
    ),
    "triggers.temporal": _names(_TRIGGERS, "DateTimeTrigger", "TimeDeltaTrigger"),
    "triggers.external_task": _names(_TRIGGERS, "DagStateTrigger", "WorkflowTrigger"),
}

_PYTHON_2 = {
    name: _PYTHON[name]
    for name in (
        "PythonOperator",
        "BranchPythonOperator",
        "ShortCircuitOperator",
        "PythonVirtualenvOperator",
        "get_current_context",
    )
}

DEPRECATED_MODULES: dict[str, str] = {
    "airflow.operators.bash_operator": "airflow.operators.bash",
    "airflow.operators.python_operator": "airflow.operators.python",
    "airflow.hooks.base_hook": "airflow.hooks.base",
}
"""Airflow 2 module -> the module to import from instead: each name taken from it warns."""

MODULES: dict[str, dict[str, str]] = {
    "airflow": {"DAG": _AUTHORING["DAG"], "Asset": f"{_HW}:Asset", "Dataset": f"{_HW}:Dataset"},
    "airflow.sdk": _AUTHORING,
    "airflow.sdk.definitions.retry_policy": _RETRY_POLICIES,
    "airflow.decorators": {
        name: _AUTHORING[name] for name in ("dag", "task", "task_group", "setup", "teardown")
    },
    "airflow.models": {
        **{name: _AUTHORING[name] for name in ("DAG", "BaseOperator", "Param", "XComArg")},
        "Connection": f"{_MODELS}:Connection",
        "DagRun": "headwater.engine.records:DagRun",
        "TaskInstance": "headwater.runtime.task_runner:RuntimeTaskInstance",
        "Variable": f"{_MODELS}:Variable",
    },
    "airflow.models.connection": {"Connection": f"{_MODELS}:Connection"},
    "airflow.models.dagrun": {"DagRun": "headwater.engine.records:DagRun"},
    "airflow.models.taskinstance": {
        "TaskInstance": "headwater.runtime.task_runner:RuntimeTaskInstance"
    },
    "airflow.models.variable": {"Variable": f"{_MODELS}:Variable"},
    "airflow.models.xcom_arg": {"XComArg": f"{_HW}:XComArg"},
    "airflow.models.dag": {"DAG": _AUTHORING["DAG"]},
    "airflow.models.baseoperator": {
        name: _AUTHORING[name] for name in ("BaseOperator", "chain", "cross_downstream")
    },
    "airflow.models.param": {
        "Param": f"{_HW}:Param",
        "ParamsDict": "headwater.authoring.params:ParamsDict",
    },
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
    "airflow.sensors.time_sensor": _names(_SENSORS, "TimeSensor", "TimeSensorAsync"),
    "airflow.providers.standard.sensors.time": _names(_SENSORS, "TimeSensor", "TimeSensorAsync"),
    **_standard("sensors.weekday", _names(_SENSORS, "DayOfWeekSensor")),
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
    "airflow.providers.http.operators.http": {
        "HttpOperator": f"{_OPERATORS}:HttpOperator",
        "SimpleHttpOperator": f"{_LEGACY}:SimpleHttpOperator",
    },
    "airflow.providers.http.sensors.http": _names(_SENSORS, "HttpSensor"),
    "airflow.providers.common.sql.operators.sql": _SQL,
    "airflow.providers.common.sql.sensors.sql": _names(_SENSORS, "SqlSensor"),
    "airflow.utils.trigger_rule": {"TriggerRule": f"{_HW}:TriggerRule"},
    "airflow.utils.task_group": {"TaskGroup": f"{_HW}:TaskGroup"},
    "airflow.utils.edgemodifier": {"Label": f"{_HW}:Label"},
    "airflow.exceptions": _EXCEPTIONS,
    "airflow.sdk.exceptions": _EXCEPTIONS,
    "airflow.sdk.execution_time.context": _names(
        "headwater.runtime.state_store_context",
        "NEVER_EXPIRE",
        "TaskStateStoreAccessor",
        "AssetStateStoreAccessor",
        "AssetStateStoreAccessors",
    ),
    "airflow.sdk.bases.operator": _names(_HW, "BaseOperator", "chain", "cross_downstream"),
    "airflow.sdk.bases.sensor": _names(_SENSORS, "BaseSensorOperator", "PokeReturnValue"),
    "airflow.sdk.bases.hook": _names(_HOOKS, "BaseHook"),
    # Airflow 2.x data-aware names (Airflow 3 renamed datasets to assets).
    "airflow.datasets": _DATASETS,
    "airflow.datasets.metadata": {"Metadata": f"{_HW}:Metadata"},
    "airflow.timetables.base": _names(
        _TIMETABLES, "DagRunInfo", "DataInterval", "TimeRestriction", "Timetable"
    ),
    "airflow.timetables.trigger": _names(
        _TIMETABLES, "CronTriggerTimetable", "MultipleCronTriggerTimetable"
    ),
    "airflow.timetables.interval": _names(
        _TIMETABLES, "CronDataIntervalTimetable", "DeltaDataIntervalTimetable"
    ),
    "airflow.timetables.events": _names(_TIMETABLES, "EventsTimetable"),
    "airflow.timetables.simple": _names(_TIMETABLES, "NullTimetable", "OnceTimetable"),
    "airflow.timetables.assets": {"AssetOrTimeSchedule": f"{_HW}:AssetOrTimeSchedule"},
    "airflow.timetables.datasets": _names(_LEGACY, "DatasetOrTimeSchedule"),
    "airflow.configuration": _names(f"{_COMPAT}.configuration", "AirflowConfigParser", "conf"),
    "airflow.plugins_manager": _names(f"{_COMPAT}.plugins", "AirflowPlugin"),
    "airflow.task.weight_rule": _names(_HW, "WeightRule"),
    "airflow.utils.weight_rule": _names(_HW, "WeightRule"),
    "airflow.utils.dates": {"days_ago": f"{_LEGACY}:days_ago"},
    "airflow.utils.timezone": _TIMEZONE,
    "airflow.utils.helpers": {
        "chain": f"{_HW}:chain",
        "cross_downstream": f"{_HW}:cross_downstream",
    },
    "airflow.utils.context": {"Context": f"{_HELPERS}:Context"},
    "airflow.utils.state": _names(_HW, "DagRunState", "TaskInstanceState"),
    "airflow.sensors.bash": _names(_SENSORS, "BashSensor"),
    "airflow.providers.standard.sensors.bash": _names(_SENSORS, "BashSensor"),
    "airflow.providers.standard.utils.weekday": _names(_OPERATORS, "WeekDay"),
    "airflow.providers.common.compat.sdk": _COMPAT_SDK,
    **{f"airflow.{module}": names for module, names in _TRIGGERS_BY_MODULE.items()},
    **{
        f"airflow.providers.standard.{module}": names
        for module, names in _TRIGGERS_BY_MODULE.items()
    },
    "airflow.triggers.base": _names(_TRIGGERS, "BaseEventTrigger", "BaseTrigger", "TriggerEvent"),
    # Hooks: Airflow 2 paths and the providers'.
    "airflow.hooks.base": _names(_HOOKS, "BaseHook"),
    "airflow.hooks.base_hook": _names(_HOOKS, "BaseHook"),
    **_standard("hooks.filesystem", _names(_HOOKS, "FSHook")),
    "airflow.providers.common.sql.hooks.sql": _names(_HOOKS, "DbApiHook"),
    "airflow.providers.postgres.hooks.postgres": _names(_HOOKS, "PostgresHook"),
    "airflow.providers.sqlite.hooks.sqlite": _names(_HOOKS, "SqliteHook"),
    "airflow.providers.mysql.hooks.mysql": _names(_HOOKS, "MySqlHook"),
    "airflow.providers.http.hooks.http": _names(_HOOKS, "HttpHook"),
    "airflow.providers.smtp.hooks.smtp": _names(_HOOKS, "SmtpHook"),
    # Airflow 2 names Airflow 3 removed: stand-ins that warn (headwater.airflow_compat.legacy).
    "airflow.operators.bash_operator": _BASH,
    "airflow.operators.python_operator": _PYTHON_2,
    "airflow.operators.dummy": _names(_LEGACY, "DummyOperator"),
    "airflow.operators.dummy_operator": _names(_LEGACY, "DummyOperator"),
    "airflow.operators.subdag": _names(_LEGACY, "SubDagOperator"),
    "airflow.operators.subdag_operator": _names(_LEGACY, "SubDagOperator"),
    "airflow.providers.postgres.operators.postgres": _names(_LEGACY, "PostgresOperator"),
    "airflow.providers.sqlite.operators.sqlite": _names(_LEGACY, "SqliteOperator"),
    "airflow.providers.mysql.operators.mysql": _names(_LEGACY, "MySqlOperator"),
}
"""Airflow module -> {name: "headwater module:attribute"}."""
