"""Finding and importing DAG files."""

from headwater.loading.dagbag import DagBag

__all__ = ["DagBag"]
