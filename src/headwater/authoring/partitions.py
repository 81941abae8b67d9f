"""Partitions: the slices of data a DAG or an asset is divided into, each named by a key.

:class:`TimePartitions` cuts time into hours, days, ISO weeks or months of wall-clock time
in one time zone; :class:`StaticPartitions` is a fixed list of keys (regions, customers).
A DAG declares one (``DAG(partitions=...)``), and each of its runs works on one key
(``run.partition_key``, ``{{ partition_key }}``); an asset may declare one too
(``Asset(..., partitions=...)``), and its events then carry the key they updated.

Keys (in the partitioning's time zone):

=========  ==================  ============================================================
period     key                 partition
=========  ==================  ============================================================
hourly     ``2024-01-31T05``   05:00 to 06:00 wall-clock time
daily      ``2024-01-31``      midnight to midnight
weekly     ``2024-W05``        an ISO 8601 week, Monday 00:00 to the next Monday (ISO week
                               year: ``2024-12-30`` is in ``2025-W01``)
monthly    ``2024-01``         the first of the month to the first of the next
=========  ==================  ============================================================

Hourly partitions follow the clock through daylight-saving changes: the hour the clocks skip
has no partition (``2024-03-10T02`` does not exist in ``America/New_York``), and the hour
they repeat is one partition of two real hours (``2024-11-03T01``), so that each key names
one interval and the intervals never overlap. Example::

    daily = TimePartitions("daily", start=datetime(2024, 1, 1, tzinfo=UTC))
    daily.keys_between("2024-01-30", "2024-02-02")   # ['2024-01-30', ..., '2024-02-02']
    daily.key_for(datetime(2024, 1, 31, 5, tzinfo=UTC))   # '2024-01-31'
    StaticPartitions(["eu", "us"]).resolve("eu,us")      # ['eu', 'us']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from headwater.exceptions import DagDefinitionError, InvalidPartitionKeyError

__all__ = [
    "PERIODS",
    "Partitions",
    "StaticPartitions",
    "TimePartitions",
    "partitions_from_json",
]

Period = Literal["hourly", "daily", "weekly", "monthly"]
PERIODS: tuple[Period, ...] = ("hourly", "daily", "weekly", "monthly")

_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "hourly": (re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2})$"), "2024-01-31T05"),
    "daily": (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "2024-01-31"),
    "weekly": (re.compile(r"^(\d{4})-W(\d{2})$"), "2024-W05"),
    "monthly": (re.compile(r"^(\d{4})-(\d{2})$"), "2024-01"),
}
_ARTICLE = {"hourly": "an", "daily": "a", "weekly": "a", "monthly": "a"}
_STATIC_KEY = re.compile(r"^[A-Za-z0-9_.~:+-]{1,100}$")
"""What a static key may hold: it becomes part of run ids (and never holds ``,``)."""
RANGE = ".."
"""Between the first and last key of a range: ``2024-01-01..2024-01-31``."""


class Partitions:
    """What every partitioning does: name its keys, check one, list a range of them."""

    kind: ClassVar[str]

    def validate_key(self, key: Any) -> str:
        """``key`` if this partitioning has it, else :class:`InvalidPartitionKeyError`."""
        raise NotImplementedError

    def iter_keys(self, first: str, last: str) -> Iterator[str]:
        """The keys from ``first`` to ``last``, both included, in order (lazily)."""
        raise NotImplementedError

    def keys_between(self, first: str, last: str) -> list[str]:
        """The keys from ``first`` to ``last``, both included, in order; an error names a
        key this partitioning lacks, or a ``first`` that comes after ``last``."""
        return list(self.iter_keys(first, last))

    def interval(self, key: str) -> tuple[datetime, datetime] | None:
        """The UTC interval ``[start, end)`` partition ``key`` covers; None if it has no time."""
        return None

    def partition_date(self, key: str) -> datetime | None:
        """The moment key ``key`` stands for (Airflow's ``partition_date``): its interval's
        start; None when it has no time."""
        interval = self.interval(key)
        return None if interval is None else interval[0]

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def description(self) -> str:
        raise NotImplementedError

    def iter_spec(self, spec: str) -> Iterator[str]:
        """The keys a command line names, lazily: ``FIRST..LAST`` (a range, both included)
        or ``KEY[,KEY...]`` (each key once, in the order given)."""
        if not isinstance(spec, str) or not spec.strip():
            raise InvalidPartitionKeyError(
                f"no partitions given: write FIRST{RANGE}LAST or KEY,KEY (partitions: "
                f"{self.description})"
            )
        if RANGE in spec:
            first, _, last = spec.partition(RANGE)
            yield from self.iter_keys(first.strip(), last.strip())
            return
        seen: set[str] = set()
        for part in spec.split(","):
            key = self.validate_key(part.strip())
            if key not in seen:
                seen.add(key)
                yield key

    def resolve(self, spec: str) -> list[str]:
        """:meth:`iter_spec` as a list."""
        return list(self.iter_spec(spec))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Partitions) and other.to_json() == self.to_json()

    def __hash__(self) -> int:
        return hash(repr(self.to_json()))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"


class StaticPartitions(Partitions):
    """A fixed, ordered list of keys: ``StaticPartitions(["eu", "us", "apac"])``.

    A key is 1 to 100 letters, digits and ``_ . ~ : + -`` (it becomes part of run ids),
    without ``..``; keys are unique. Ranges (``eu..us``) follow the list's order."""

    kind = "static"

    def __init__(self, keys: Iterable[str]) -> None:
        if isinstance(keys, str) or not isinstance(keys, Iterable):
            raise DagDefinitionError(
                f"StaticPartitions takes a list of keys, got {keys!r:.80}"
                + (f" (write [{keys!r}])" if isinstance(keys, str) else "")
            )
        listed = list(keys)
        if not listed:
            raise DagDefinitionError("StaticPartitions needs at least one key")
        for key in listed:
            if not isinstance(key, str) or not _STATIC_KEY.match(key) or RANGE in key:
                raise DagDefinitionError(
                    f"static partition key {key!r:.80} is not valid: use 1-100 letters, "
                    f"digits and _ . ~ : + - (no '{RANGE}')"
                )
        duplicates = sorted({k for k in listed if listed.count(k) > 1})
        if duplicates:
            raise DagDefinitionError(f"static partition keys repeat: {', '.join(duplicates)}")
        self.keys: tuple[str, ...] = tuple(listed)
        self._index = {key: i for i, key in enumerate(listed)}

    @property
    def description(self) -> str:
        shown = ", ".join(self.keys[:5]) + (", ..." if len(self.keys) > 5 else "")
        return f"static [{shown}] ({len(self.keys)} keys)"

    def validate_key(self, key: Any) -> str:
        if not isinstance(key, str) or key not in self._index:
            raise InvalidPartitionKeyError(
                f"partition key {key!r:.80} is not one of the {self.description}"
            )
        return key

    def iter_keys(self, first: str, last: str) -> Iterator[str]:
        start = self._index[self.validate_key(first)]
        stop = self._index[self.validate_key(last)]
        if start > stop:
            raise InvalidPartitionKeyError(
                f"partition range {first}{RANGE}{last} is backwards: {first!r} comes after "
                f"{last!r} in {self.description}"
            )
        yield from self.keys[start : stop + 1]

    def to_json(self) -> dict[str, Any]:
        return {"static": {"keys": list(self.keys)}}


class TimePartitions(Partitions):
    """Hours, days, ISO weeks or months of wall-clock time in ``timezone`` (an IANA name,
    default UTC), from the one that contains ``start`` to the last that starts before
    ``end`` (none: no end). ``start`` and ``end`` are datetimes (naive ones are read in
    ``timezone``), dates (midnight there) or keys. Example::

        TimePartitions("hourly", start="2024-01-01T00", timezone="Europe/Paris")
    """

    kind = "time"

    def __init__(
        self,
        period: Period,
        start: datetime | date | str,
        end: datetime | date | str | None = None,
        timezone: str | tzinfo = "UTC",
    ) -> None:
        if period not in PERIODS:
            raise DagDefinitionError(
                f"partition period {period!r:.40} is not one of {', '.join(PERIODS)}"
            )
        self.period: Period = period
        self.timezone_name, self._tz = _zone(timezone)
        self._utc = self.timezone_name == "UTC"
        self._first = self._truncate(self._local(start, "start"))
        self.start = self._to_utc(self._first)
        self.end: datetime | None = None
        if end is not None:
            if isinstance(end, datetime) and end.utcoffset() is not None:
                self.end = end.astimezone(UTC)  # an instant: no wall-clock round trip
            else:
                self.end = self._to_utc(self._local(end, "end"))
            if self.end <= self.start:
                raise DagDefinitionError(
                    f"{period} partitions: end {self.end.isoformat()} is not after the first "
                    f"partition's start {self.start.isoformat()}"
                )

    # -- keys ----------------------------------------------------------------------------------

    @property
    def description(self) -> str:
        until = f" to {self.end.isoformat()}" if self.end is not None else ""
        return (
            f"{self.period} partitions from {self._key(self._first)}{until} ({self.timezone_name})"
        )

    def validate_key(self, key: Any) -> str:
        self._parse(key)
        return str(key)

    def key_for(self, moment: datetime) -> str:
        """The key of the partition that contains ``moment`` (timezone-aware)."""
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            raise InvalidPartitionKeyError(
                f"{self.period} partitions: {moment!r:.60} is not a timezone-aware datetime"
            )
        naive = self._truncate(moment.astimezone(self._tz).replace(tzinfo=None))
        key = self._key(naive)
        self._check_range(naive, key)
        return key

    def interval(self, key: str) -> tuple[datetime, datetime]:
        naive = self._parse(key)
        return self._to_utc(naive), self._to_utc(self._next(naive))

    def iter_keys(self, first: str, last: str) -> Iterator[str]:
        current, stop = self._parse(first), self._parse(last)
        if current > stop:
            raise InvalidPartitionKeyError(
                f"partition range {first}{RANGE}{last} is backwards: {first!r} is after "
                f"{last!r} ({self.description})"
            )
        while current <= stop:
            yield self._key(current)
            current = self._next(current)

    def to_json(self) -> dict[str, Any]:
        return {
            "time": {
                "period": self.period,
                "start": self._key(self._first),
                "end": None if self.end is None else self.end.isoformat(),
                "timezone": self.timezone_name,
            }
        }

    # -- wall-clock arithmetic on naive local datetimes ----------------------------------------

    def _key(self, naive: datetime) -> str:
        if self.period == "hourly":
            return naive.strftime("%Y-%m-%dT%H")
        if self.period == "daily":
            return naive.strftime("%Y-%m-%d")
        if self.period == "weekly":
            year, week, _ = naive.isocalendar()
            return f"{year:04d}-W{week:02d}"
        return naive.strftime("%Y-%m")

    def _parse(self, key: Any, *, bounded: bool = True) -> datetime:
        """The naive local start of partition ``key``, checked: format, existence and (when
        ``bounded``) the range."""
        pattern, example = _FORMATS[self.period]
        match = pattern.match(key) if isinstance(key, str) else None
        if match is None:
            where = f" ({self.description})" if bounded else ""
            raise InvalidPartitionKeyError(
                f"partition key {key!r:.80} is not {_ARTICLE[self.period]} {self.period} key "
                f"like {example!r}{where}"
            )
        numbers = [int(g) for g in match.groups()]
        try:
            if self.period == "weekly":
                naive = datetime.fromisocalendar(numbers[0], numbers[1], 1)
            elif self.period == "monthly":
                naive = datetime(numbers[0], numbers[1], 1)
            else:
                hour = numbers[3] if len(numbers) > 3 else 0
                naive = datetime(numbers[0], numbers[1], numbers[2], hour)
        except ValueError as exc:
            raise InvalidPartitionKeyError(
                f"partition key {key!r} is not a real date ({exc})"
            ) from None
        if not self._exists(naive):
            raise InvalidPartitionKeyError(
                f"partition key {key!r} does not exist: the clocks skip that hour in "
                f"{self.timezone_name} (daylight saving time)"
            )
        if bounded:
            self._check_range(naive, key)
        return naive

    def _check_range(self, naive: datetime, key: str) -> None:
        if naive < self._first:
            raise InvalidPartitionKeyError(
                f"partition key {key!r} is before the first partition ({self.description})"
            )
        if self.end is not None and self._to_utc(naive) >= self.end:
            raise InvalidPartitionKeyError(
                f"partition key {key!r} is after the last partition ({self.description})"
            )

    def _truncate(self, naive: datetime) -> datetime:
        if self.period == "hourly":
            return naive.replace(minute=0, second=0, microsecond=0, fold=0)
        day = naive.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)
        if self.period == "weekly":
            return day - timedelta(days=day.weekday())
        if self.period == "monthly":
            return day.replace(day=1)
        return day

    def _next(self, naive: datetime) -> datetime:
        if self.period == "hourly":
            following = naive + timedelta(hours=1)
            while not self._exists(following):  # the hour the clocks skip
                following += timedelta(hours=1)
            return following
        if self.period == "daily":
            return naive + timedelta(days=1)
        if self.period == "weekly":
            return naive + timedelta(days=7)
        if naive.month == 12:
            return naive.replace(year=naive.year + 1, month=1)
        return naive.replace(month=naive.month + 1)

    def _exists(self, naive: datetime) -> bool:
        """Whether wall-clock ``naive`` happens in the zone (not in a spring-forward gap)."""
        if self._utc or self.period != "hourly":
            return True
        back = naive.replace(tzinfo=self._tz).astimezone(UTC).astimezone(self._tz)
        return back.replace(tzinfo=None) == naive

    def _to_utc(self, naive: datetime) -> datetime:
        # fold=0: a repeated wall-clock time means its first occurrence.
        return naive.replace(tzinfo=self._tz).astimezone(UTC)

    def _local(self, value: datetime | date | str, name: str) -> datetime:
        """``value`` as naive wall-clock time in the zone."""
        if isinstance(value, str):
            try:
                return self._parse(value, bounded=False)
            except InvalidPartitionKeyError as exc:
                raise DagDefinitionError(f"{self.period} partitions: {name}: {exc}") from None
        if isinstance(value, datetime):
            if value.utcoffset() is None:
                return value.replace(tzinfo=None)
            return value.astimezone(self._tz).replace(tzinfo=None)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        raise DagDefinitionError(
            f"{self.period} partitions: {name} must be a datetime, a date or a key, "
            f"got {value!r:.80}"
        )


def _zone(value: str | tzinfo) -> tuple[str, tzinfo]:
    if value is UTC or value == "UTC":
        return "UTC", UTC
    if isinstance(value, ZoneInfo):
        return value.key, value
    if isinstance(value, str):
        try:
            return value, ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise DagDefinitionError(
        f"partition timezone {value!r:.60} is not a known IANA time zone name "
        "(like 'UTC' or 'Europe/Paris')"
    )


def partitions_from_json(data: Mapping[str, Any] | None) -> Partitions | None:
    """The partitioning :meth:`Partitions.to_json` wrote (None stays None)."""
    if data is None:
        return None
    if "static" in data:
        return StaticPartitions(data["static"]["keys"])
    if "time" in data:
        spec = data["time"]
        end = spec.get("end")
        return TimePartitions(
            spec["period"],
            start=spec["start"],
            end=None if end is None else datetime.fromisoformat(end),
            timezone=spec.get("timezone", "UTC"),
        )
    if "open" in data or "asset_mapped" in data:  # Airflow 3.3's partitioned assets
        from headwater.authoring.asset_partitions import AssetPartitions, OpenPartitions

        if "open" in data:
            return OpenPartitions()
        return AssetPartitions.from_json_data(data["asset_mapped"])
    raise ValueError(f"not a partitioning: {data!r:.80}")


def check_key_text(key: Any) -> str:
    """``key`` if it can be a partition key of some partitioning, else
    :class:`InvalidPartitionKeyError`: for keys given where no partitioning is known (an
    asset event recorded from outside). Producers of Airflow 3.3's partitioned assets name
    keys freely, so any text of 1 to 250 characters, not blank and without control
    characters, is one (:func:`headwater.authoring.asset_partitions.check_open_key`)."""
    from headwater.authoring.asset_partitions import check_open_key

    return check_open_key(key)


def check_partitions(value: Any, owner: str) -> Partitions | None:
    """``value`` if it is a partitioning or None; a clear error naming ``owner`` otherwise."""
    if value is None or isinstance(value, Partitions):
        return value
    raise DagDefinitionError(
        f"{owner}: partitions must be TimePartitions(...) or StaticPartitions([...]), "
        f"got {value!r:.80}"
    )
