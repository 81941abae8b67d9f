"""headwater: workflow orchestration as Python code.

Describe a pipeline with :class:`DAG` (or ``@dag``) and tasks (operators from
``headwater.operators`` or ``@task`` functions), then run it with ``headwater dags test``
or ``dag.test()``.
"""

from headwater.authoring.current_context import get_current_context
from headwater.authoring.dag import DAG, dag
from headwater.authoring.dependencies import chain, cross_downstream
from headwater.authoring.operator import BaseOperator
from headwater.authoring.params import Param
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

__version__ = "0.1.0"

__all__ = [
    "DAG",
    "BaseOperator",
    "DagRunState",
    "HeadwaterError",
    "Param",
    "TaskFailedNoRetry",
    "TaskGroup",
    "TaskInstanceState",
    "TaskSkipped",
    "TriggerRule",
    "XComArg",
    "__version__",
    "chain",
    "cross_downstream",
    "dag",
    "get_current_context",
    "task",
    "task_group",
]
