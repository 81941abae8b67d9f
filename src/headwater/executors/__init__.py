"""Executors: where task attempts run."""

from headwater.executors.base import Executor
from headwater.executors.in_process import InProcessExecutor

__all__ = ["Executor", "InProcessExecutor"]
