"""headwater: workflow orchestration as Python code.

Describe a pipeline with :class:`DAG` (or ``@dag``) and tasks (operators from
``headwater.operators`` or ``@task`` functions), then run it with ``headwater dags test``
or ``dag.test()``.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from headwater.authoring import in_process_runs as _in_process_runs
from headwater.authoring.assets import (
    Asset,
    AssetAlias,
    AssetAll,
    AssetAny,
    AssetOrTimeSchedule,
    Dataset,
    Metadata,
    asset,
)
from headwater.authoring.current_context import get_current_context
from headwater.authoring.dag import DAG, dag
from headwater.authoring.dependencies import chain, cross_downstream
from headwater.authoring.operator import BaseOperator
from headwater.authoring.params import Param
from headwater.authoring.partitions import StaticPartitions, TimePartitions
from headwater.authoring.task_group import TaskGroup, task_group
from headwater.authoring.taskflow import task
from headwater.authoring.trigger_rule import TriggerRule
from headwater.authoring.xcom_arg import XComArg
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.exceptions import (
    HeadwaterError,
    TaskFailedNoRetry,
    TaskSkipped,
)
from headwater.masking import mask_secret

__version__ = "0.1.0"


if _TYPE_CHECKING:
    from headwater.testing import DagRunResult


def _run_dag_in_process(pipeline: DAG, **kwargs: _Any) -> "DagRunResult":
    """``DAG.test()``: the in-process runner, imported when a DAG is first tested (the
    package root wires the layers; authoring itself imports none above it)."""
    from headwater.testing import run_dag

    return run_dag(pipeline, **kwargs)


_in_process_runs.set_runner(_run_dag_in_process)

__all__ = [
    "DAG",
    "Asset",
    "AssetAlias",
    "AssetAll",
    "AssetAny",
    "AssetOrTimeSchedule",
    "BaseOperator",
    "DagRunState",
    "Dataset",
    "HeadwaterError",
    "Metadata",
    "Param",
    "StaticPartitions",
    "TaskFailedNoRetry",
    "TaskGroup",
    "TaskInstanceState",
    "TaskSkipped",
    "TimePartitions",
    "TriggerRule",
    "XComArg",
    "__version__",
    "asset",
    "chain",
    "cross_downstream",
    "dag",
    "get_current_context",
    "mask_secret",
    "task",
    "task_group",
]
