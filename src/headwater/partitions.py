"""Partitions in one place: headwater's own (:class:`TimePartitions`,
:class:`StaticPartitions`) and Airflow 3.3's partitioned assets (the partitioned
timetables, partition mappers, rollup windows and wait policies), as ``airflow.sdk`` names
them. See docs/data-aware.md, "Partitions"."""

from headwater.authoring.asset_partitions import OpenPartitions, PartitionedAssetTimetable
from headwater.authoring.partition_mappers import (
    AllowedKeyMapper,
    ChainMapper,
    FixedKeyMapper,
    IdentityMapper,
    PartitionMapper,
    ProductMapper,
)
from headwater.authoring.partition_mappers_temporal import (
    StartOfDayMapper,
    StartOfHourMapper,
    StartOfMonthMapper,
    StartOfQuarterMapper,
    StartOfWeekMapper,
    StartOfYearMapper,
)
from headwater.authoring.partition_mappers_windowed import FanOutMapper, RollupMapper
from headwater.authoring.partition_windows import (
    DayWindow,
    HourWindow,
    MinimumCount,
    MonthWindow,
    QuarterWindow,
    SegmentWindow,
    WaitForAll,
    WaitPolicy,
    WeekWindow,
    Window,
    YearWindow,
)
from headwater.authoring.partitions import Partitions, StaticPartitions, TimePartitions
from headwater.timetables.partitioned import CronPartitionTimetable, PartitionedAtRuntime

__all__ = [
    "AllowedKeyMapper",
    "ChainMapper",
    "CronPartitionTimetable",
    "DayWindow",
    "FanOutMapper",
    "FixedKeyMapper",
    "HourWindow",
    "IdentityMapper",
    "MinimumCount",
    "MonthWindow",
    "OpenPartitions",
    "PartitionMapper",
    "PartitionedAssetTimetable",
    "PartitionedAtRuntime",
    "Partitions",
    "ProductMapper",
    "QuarterWindow",
    "RollupMapper",
    "SegmentWindow",
    "StartOfDayMapper",
    "StartOfHourMapper",
    "StartOfMonthMapper",
    "StartOfQuarterMapper",
    "StartOfWeekMapper",
    "StartOfYearMapper",
    "StaticPartitions",
    "TimePartitions",
    "WaitForAll",
    "WaitPolicy",
    "WeekWindow",
    "Window",
    "YearWindow",
]
