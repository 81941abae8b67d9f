"""The operators that ship with headwater."""

from headwater.operators.bash import BashOperator
from headwater.operators.empty import EmptyOperator
from headwater.operators.python import BranchPythonOperator, PythonOperator, ShortCircuitOperator
from headwater.operators.python_virtualenv import ExternalPythonOperator, PythonVirtualenvOperator

__all__ = [
    "BashOperator",
    "BranchPythonOperator",
    "EmptyOperator",
    "ExternalPythonOperator",
    "PythonOperator",
    "PythonVirtualenvOperator",
    "ShortCircuitOperator",
]
