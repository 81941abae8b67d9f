"""The metrics port: the grouped counts that ``/metrics`` reports, read at scrape time.

Each method is one cheap grouped ``COUNT`` (the states and the event ids are indexed), so a
scrape costs a handful of small queries whatever the size of the database, and never a
query per run or per task. :mod:`headwater.metrics.store_counts` turns the answers into
Prometheus gauges and counters.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


@dataclass(frozen=True)
class EventCounts:
    """Events of one kind recorded after an id: how many per DAG (``""`` for events that name
    no DAG), and the highest id seen (the ``after_id`` of the next call)."""

    by_dag: dict[str, int] = field(default_factory=dict)
    last_id: int = 0


class MetricsCounts(ABC):
    """What the metrics endpoints count in the store."""

    @abstractmethod
    def count_runs_by_state(self) -> dict[str, int]:
        """DAG-run state -> number of runs in it (states without runs are left out)."""

    @abstractmethod
    def count_tis_by_state(self) -> dict[str, int]:
        """Task-instance state -> number of instances in it (states without any left out)."""

    @abstractmethod
    def count_import_error_files(self) -> int:
        """How many DAG files failed to import at their last parse."""

    @abstractmethod
    def count_events_after(self, kind: str, after_id: int) -> EventCounts:
        """Events of ``kind`` whose id is above ``after_id``, per DAG; reads only the new rows
        (by primary key), so a caller that passes back ``last_id`` counts each event once."""
