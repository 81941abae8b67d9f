"""Temporal partition mappers: an upstream key read as a moment, mapped to the start of its
hour, day, ISO week, month, quarter or year (Airflow 3.3's ``StartOf*Mapper``), and
:class:`FanOutMapper`, one upstream key to the members of its period.

Each reads upstream keys with ``input_format`` (``strptime``; default
``%Y-%m-%dT%H:%M:%S``), in ``timezone`` when the key has no offset (an IANA name, a
``tzinfo``, pendulum's time zones), and writes downstream keys with ``output_format``:

======================  ====================  ============================================
mapper                  default output        ``2024-03-13T10:42:15`` gives
======================  ====================  ============================================
StartOfHourMapper       ``%Y-%m-%dT%H``       ``2024-03-13T10``
StartOfDayMapper        ``%Y-%m-%d``          ``2024-03-13``
StartOfWeekMapper       ``%Y-%m-%d (W%V)``    ``2024-03-11 (W11)`` (the Monday)
StartOfMonthMapper      ``%Y-%m``             ``2024-03``
StartOfQuarterMapper    ``%Y-Q{quarter}``     ``2024-Q1``
StartOfYearMapper       ``%Y``                ``2024``
======================  ====================  ============================================

A downstream key must read back to its period's start (a rollup lists the upstream keys
from it, a run's ``partition_date`` is it), so an ``output_format`` that loses part of it
(``%Y-%m`` for days) is refused when the mapper is made. Readable: ``%Y %m %d %H %M %S``,
``%G-W%V`` (ISO weeks), ``{quarter}`` for quarters, and whatever ``strptime`` reads.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any, ClassVar, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from headwater.authoring.partition_mappers import PartitionMapper
from headwater.exceptions import DagDefinitionError, InvalidPartitionKeyError

__all__ = [
    "StartOfDayMapper",
    "StartOfHourMapper",
    "StartOfMonthMapper",
    "StartOfQuarterMapper",
    "StartOfWeekMapper",
    "StartOfYearMapper",
]

_READABLE = {
    "Y": r"\d{4}",
    "G": r"\d{4}",
    "m": r"\d{2}",
    "d": r"\d{2}",
    "H": r"\d{2}",
    "M": r"\d{2}",
    "S": r"\d{2}",
    "V": r"\d{2}",
    "U": r"\d{2}",
    "W": r"\d{2}",
    "u": r"[1-7]",
}
"""The strftime directives a downstream key is read back by, with what each matches."""
_SAMPLES = (datetime(2024, 11, 18, 13, 47, 29), datetime(2023, 2, 21, 22, 5, 1))
"""Moments a mapper's formats are tried on when it is made (every field differs)."""
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


def _key_pattern(fmt: str, placeholders: Mapping[str, str]) -> re.Pattern[str] | None:
    """A regular expression that reads ``fmt``'s keys into named groups; None when ``fmt``
    has a directive it cannot read (``strptime`` is tried then)."""
    parts: list[str] = []
    seen: set[str] = set()
    index = 0
    while index < len(fmt):
        if fmt[index] == "%" and index + 1 < len(fmt):
            directive = fmt[index + 1]
            index += 2
            if directive == "%":
                parts.append("%")
                continue
            if directive not in _READABLE:
                return None
            parts.append(
                f"(?P={directive})"
                if directive in seen
                else f"(?P<{directive}>{_READABLE[directive]})"
            )
            seen.add(directive)
            continue
        name = next((p for p in placeholders if fmt.startswith(f"{{{p}}}", index)), None)
        if name is not None:
            parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>{placeholders[name]})")
            seen.add(name)
            index += len(name) + 2
            continue
        parts.append(re.escape(fmt[index]))
        index += 1
    return re.compile("".join(parts))


def _from_fields(fields: Mapping[str, str]) -> datetime | None:
    """The moment a key's fields name (None when they name no date)."""
    hms = (int(fields.get("H", 0)), int(fields.get("M", 0)), int(fields.get("S", 0)))
    if "Y" in fields:
        month = int(fields["m"]) if "m" in fields else 3 * int(fields.get("quarter", 1)) - 2
        return datetime(int(fields["Y"]), month, int(fields.get("d", 1)), *hms)
    if "G" in fields and "V" in fields:
        day = date.fromisocalendar(int(fields["G"]), int(fields["V"]), int(fields.get("u", 1)))
        return datetime(day.year, day.month, day.day, *hms)
    return None


def _resolve_zone(value: object, owner: str) -> tuple[str, tzinfo]:
    """The name a time zone is stored by and the zone itself, from an IANA name, a fixed
    offset (``+05:30``), a ``tzinfo`` or one of pendulum's zones."""
    if isinstance(value, str):
        if value == "UTC":
            return "UTC", UTC
        if match := _OFFSET.match(value):
            sign = -1 if match[1] == "-" else 1
            offset = timedelta(hours=int(match[2]), minutes=int(match[3]))
            if offset < timedelta(hours=24):
                return _fixed_zone(sign * offset)
        else:
            try:
                return value, ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                pass
    elif isinstance(value, ZoneInfo) and value.key:
        return _resolve_zone(value.key, owner)
    elif isinstance(value, tzinfo):
        name = getattr(value, "name", None)  # pendulum's zones
        if isinstance(name, str) and name and not isinstance(value, timezone):
            try:
                return _resolve_zone(name, owner)
            except DagDefinitionError:
                pass
        try:
            fixed = value.utcoffset(None)
        except (TypeError, ValueError, AttributeError):
            fixed = None
        if isinstance(fixed, timedelta) and fixed % timedelta(minutes=1) == timedelta(0):
            return _fixed_zone(fixed)
    raise DagDefinitionError(
        f"{owner} timezone {value!r:.60} is not a time zone headwater can store: give an IANA "
        "name (like 'UTC' or 'Europe/Paris'), a fixed offset ('+05:30') or a ZoneInfo"
    )


def _fixed_zone(offset: timedelta) -> tuple[str, tzinfo]:
    if not offset:
        return "UTC", UTC
    minutes = abs(offset) // timedelta(minutes=1)
    return (
        f"{'-' if offset < timedelta(0) else '+'}{minutes // 60:02d}:{minutes % 60:02d}",
        timezone(offset),
    )


def _localize(naive: datetime, zone: tzinfo) -> datetime:
    """Wall-clock ``naive`` in ``zone``; a time the clocks skip moves on by the gap (02:30
    on a spring-forward night is 03:30), a repeated one is its first occurrence."""
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)


class _TemporalMapper(PartitionMapper):
    """Reads a key as a moment and maps it to the start of its period (``normalize``)."""

    expected_decoded_type: ClassVar[type] = datetime
    default_output_format: ClassVar[str]
    period: ClassVar[str]
    _placeholders: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        *,
        timezone: str | tzinfo = "UTC",
        input_format: str = "%Y-%m-%dT%H:%M:%S",
        output_format: str | None = None,
        max_downstream_keys: int | None = None,
    ) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        name = type(self).__name__
        self.timezone_name, self._zone = _resolve_zone(timezone, name)
        output_format = output_format or self.default_output_format
        for argument, value in (("input_format", input_format), ("output_format", output_format)):
            if not isinstance(value, str) or not value:
                raise DagDefinitionError(f"{name} {argument} must be a format, got {value!r:.60}")
        self.input_format = input_format
        self.output_format = output_format
        self._pattern = _key_pattern(output_format, self._placeholders)
        self._check_formats()

    @property
    def timezone(self) -> tzinfo:
        """The zone keys without an offset are read in (and periods start in)."""
        return self._zone

    @abc.abstractmethod
    def normalize(self, dt: datetime) -> datetime:
        """The start of the period ``dt`` is in (same zone, or none)."""

    def format(self, dt: datetime) -> str:
        """The downstream key of the period starting at ``dt``."""
        if dt.tzinfo is None and ("%z" in self.output_format or "%Z" in self.output_format):
            dt = dt.replace(tzinfo=self._zone)
        return dt.strftime(self.output_format)

    def to_downstream(self, key: str) -> str:
        try:
            parsed = datetime.strptime(key, self.input_format)
        except (TypeError, ValueError):
            raise InvalidPartitionKeyError(
                f"{type(self).__name__} cannot map partition key {key!r:.100}: it does not match "
                f"input_format {self.input_format!r}"
            ) from None
        moment = (
            _localize(parsed, self._zone)
            if parsed.tzinfo is None
            else parsed.astimezone(self._zone)
        )
        return self.format(self.normalize(moment))

    def decode_downstream(self, downstream_key: str) -> datetime:
        """The (naive, wall-clock) start of the period ``downstream_key`` names."""
        decoded = self._read_key(downstream_key) if isinstance(downstream_key, str) else None
        if decoded is None:
            raise InvalidPartitionKeyError(
                f"{type(self).__name__} cannot read downstream key {downstream_key!r:.100}: it "
                f"does not match output_format {self.output_format!r}"
            )
        return decoded

    def encode_upstream(self, decoded: datetime) -> str:
        """The upstream key (``input_format``, in the mapper's zone) of moment ``decoded``."""
        if not isinstance(decoded, datetime):
            raise InvalidPartitionKeyError(
                f"{type(self).__name__} writes upstream keys of datetimes, got {decoded!r:.60}"
            )
        if decoded.tzinfo is not None:
            decoded = decoded.astimezone(self._zone).replace(tzinfo=None)
        return _localize(decoded, self._zone).strftime(self.input_format)

    def to_partition_date(self, downstream_key: str) -> datetime:
        return _localize(self.normalize(self.decode_downstream(downstream_key)), self._zone)

    def _read_key(self, key: str) -> datetime | None:
        if self._pattern is not None:
            match = self._pattern.fullmatch(key)
            try:
                return _from_fields(match.groupdict()) if match else None
            except ValueError:  # a month 13, a week 54
                return None
        try:
            parsed = datetime.strptime(key, self.output_format)
        except ValueError:
            return None
        return parsed.astimezone(self._zone).replace(tzinfo=None) if parsed.tzinfo else parsed

    def _check_formats(self) -> None:
        name = type(self).__name__
        for sample in _SAMPLES:
            moment = _localize(sample, self._zone)
            try:
                datetime.strptime(moment.strftime(self.input_format), self.input_format)
            except ValueError as err:
                raise DagDefinitionError(
                    f"{name} input_format {self.input_format!r} cannot be read by strptime: {err}"
                ) from None
            start = self.normalize(moment)
            key = self.format(start)
            back = self._read_key(key)
            if back != start.replace(tzinfo=None):
                raise DagDefinitionError(
                    f"{name} output_format {self.output_format!r} cannot be read back to the "
                    f"start of the {self.period}: {key!r} (for {start:%Y-%m-%d %H:%M}) reads "
                    f"as {back}; keep every field down to the {self.period}"
                )

    def to_json_data(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone_name,
            "input_format": self.input_format,
            "output_format": self.output_format,
            **self._limit_json(),
        }

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> Self:
        return cls(
            timezone=data.get("timezone", "UTC"),
            input_format=data["input_format"],
            output_format=data["output_format"],
            max_downstream_keys=data.get("max_downstream_keys"),
        )

    def _repr_args(self) -> list[str]:
        args = [] if self.timezone_name == "UTC" else [f"timezone={self.timezone_name!r}"]
        if self.input_format != "%Y-%m-%dT%H:%M:%S":
            args.append(f"input_format={self.input_format!r}")
        if self.output_format != self.default_output_format:
            args.append(f"output_format={self.output_format!r}")
        return [*args, *self._limit_repr()]


class StartOfHourMapper(_TemporalMapper):
    """The start of the key's hour: ``2024-03-13T10:42:15`` to ``2024-03-13T10``."""

    _json_kind = "start_of_hour"
    default_output_format = "%Y-%m-%dT%H"
    period = "hour"

    def normalize(self, dt: datetime) -> datetime:
        return dt.replace(minute=0, second=0, microsecond=0, fold=0)


class StartOfDayMapper(_TemporalMapper):
    """The start of the key's day: ``2024-03-13T10:42:15`` to ``2024-03-13``."""

    _json_kind = "start_of_day"
    default_output_format = "%Y-%m-%d"
    period = "day"

    def normalize(self, dt: datetime) -> datetime:
        return dt.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)


class StartOfWeekMapper(_TemporalMapper):
    """The Monday of the key's ISO week: ``2024-03-13T10:42:15`` to ``2024-03-11 (W11)``
    (``output_format="%G-W%V"`` gives ``2024-W11``)."""

    _json_kind = "start_of_week"
    default_output_format = "%Y-%m-%d (W%V)"
    period = "week"

    def normalize(self, dt: datetime) -> datetime:
        monday = dt - timedelta(days=dt.weekday())
        return monday.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)


class StartOfMonthMapper(_TemporalMapper):
    """The first of the key's month: ``2024-03-13T10:42:15`` to ``2024-03``."""

    _json_kind = "start_of_month"
    default_output_format = "%Y-%m"
    period = "month"

    def normalize(self, dt: datetime) -> datetime:
        return dt.replace(day=1, hour=0, minute=0, second=0, microsecond=0, fold=0)


class StartOfQuarterMapper(_TemporalMapper):
    """The first day of the key's calendar quarter: ``2024-03-13T10:42:15`` to ``2024-Q1``
    (``{quarter}`` in ``output_format`` is the quarter's number, 1 to 4)."""

    _json_kind = "start_of_quarter"
    default_output_format = "%Y-Q{quarter}"
    period = "quarter"
    _placeholders: ClassVar[dict[str, str]] = {"quarter": "[1-4]"}

    def normalize(self, dt: datetime) -> datetime:
        month = (dt.month - 1) // 3 * 3 + 1
        return dt.replace(month=month, day=1, hour=0, minute=0, second=0, microsecond=0, fold=0)

    def format(self, dt: datetime) -> str:
        return super().format(dt).replace("{quarter}", str((dt.month - 1) // 3 + 1))


class StartOfYearMapper(_TemporalMapper):
    """January 1 of the key's year: ``2024-03-13T10:42:15`` to ``2024``."""

    _json_kind = "start_of_year"
    default_output_format = "%Y"
    period = "year"

    def normalize(self, dt: datetime) -> datetime:
        return dt.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0, fold=0)
