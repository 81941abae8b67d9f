"""The operators that ship with headwater."""

from headwater.operators.bash import BashOperator
from headwater.operators.empty import EmptyOperator
from headwater.operators.python import BranchPythonOperator, PythonOperator, ShortCircuitOperator

__all__ = [
    "BashOperator",
    "BranchPythonOperator",
    "EmptyOperator",
    "PythonOperator",
    "ShortCircuitOperator",
]
