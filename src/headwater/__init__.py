"""headwater: workflow orchestration as Python code.

Describe a pipeline with :class:`DAG` (or ``@dag``) and tasks (operators from
``headwater.operators`` or ``@task`` functions), then run it with ``headwater dags test``
or ``dag.test()``.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from headwater.authoring import dag_runs_access as _dag_runs_access
from headwater.authoring import in_process_runs as _in_process_runs
from headwater.authoring import operator_templates as _operator_templates
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
from headwater.authoring.deadlines import Deadline, DeadlineReference
from headwater.authoring.dependencies import chain, cross_downstream
from headwater.authoring.edges import Label
from headwater.authoring.operator import BaseOperator
from headwater.authoring.params import Param
from headwater.authoring.partitions import StaticPartitions, TimePartitions
from headwater.authoring.retry_policies import (
    ExceptionRetryPolicy,
    RetryAction,
    RetryDecision,
    RetryPolicy,
    RetryRule,
)
from headwater.authoring.setup_teardown_decorators import setup, teardown
from headwater.authoring.task_group import TaskGroup, task_group
from headwater.authoring.taskflow import task
from headwater.authoring.trigger_rule import TriggerRule
from headwater.authoring.weight_rule import WeightRule
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


def _dag_runs_access_for(store: object | None) -> "_dag_runs_access.DagRunsAccess":
    """What cross-DAG operators reach other DAGs' runs through (``store``: the attempt's,
    or None for the settings' database), imported when a task first asks."""
    from headwater.operations.cross_dag import access_for

    return access_for(store)


_dag_runs_access.set_access_factory(_dag_runs_access_for)


def _render_for_task(
    task: BaseOperator, content: _Any, context: dict[str, _Any], env: _Any
) -> _Any:
    """``BaseOperator.render_template``: the task runtime's templating, imported when a task
    first renders this way."""
    from headwater.runtime.templating import render_for_task

    return render_for_task(task, content, context, env)


_operator_templates.set_template_renderer(_render_for_task)

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
    "Deadline",
    "DeadlineReference",
    "ExceptionRetryPolicy",
    "HeadwaterError",
    "Label",
    "Metadata",
    "Param",
    "RetryAction",
    "RetryDecision",
    "RetryPolicy",
    "RetryRule",
    "StaticPartitions",
    "TaskFailedNoRetry",
    "TaskGroup",
    "TaskInstanceState",
    "TaskSkipped",
    "TimePartitions",
    "TriggerRule",
    "WeightRule",
    "XComArg",
    "__version__",
    "asset",
    "chain",
    "cross_downstream",
    "dag",
    "get_current_context",
    "mask_secret",
    "setup",
    "task",
    "task_group",
    "teardown",
]
