"""The error of serialized DAGs: a DAG that cannot be stored as JSON, stored JSON that is
not a DAG, or a task or callback of a rebuilt DAG asked to run.

Every part of the format raises it (:mod:`headwater.dag_processing.serialized_dag` and the
modules it reads and writes parts of a DAG with), so it lives apart from all of them.
"""

from __future__ import annotations

from headwater.exceptions import HeadwaterError

__all__ = ["SerializedDagError"]


class SerializedDagError(HeadwaterError):
    """A DAG cannot be stored as JSON, or stored JSON cannot be turned back into a DAG."""
