"""Timetables: when a DAG's scheduled runs happen, and which data each covers.

``DAG(schedule=...)`` takes a cron string, a preset, a ``timedelta``, ``None``, ``"@once"``
or one of these timetables (or your own subclass of :class:`Timetable`)::

    from headwater.timetables import CronTriggerTimetable

    DAG("report", schedule=CronTriggerTimetable("0 6 * * 1-5", timezone="Europe/Berlin"))

See docs/data-aware.md, "Timetables", for the interface and a workday timetable.
"""

from headwater.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable
from headwater.timetables.events import EventsTimetable
from headwater.timetables.interval import CronDataIntervalTimetable, DeltaDataIntervalTimetable
from headwater.timetables.partitioned import CronPartitionTimetable, PartitionedAtRuntime
from headwater.timetables.simple import NullTimetable, OnceTimetable
from headwater.timetables.trigger import CronTriggerTimetable, MultipleCronTriggerTimetable

__all__ = [
    "CronDataIntervalTimetable",
    "CronPartitionTimetable",
    "CronTriggerTimetable",
    "DagRunInfo",
    "DataInterval",
    "DeltaDataIntervalTimetable",
    "EventsTimetable",
    "MultipleCronTriggerTimetable",
    "NullTimetable",
    "OnceTimetable",
    "PartitionedAtRuntime",
    "TimeRestriction",
    "Timetable",
]
