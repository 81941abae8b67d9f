"""Time zones as timetables take them (a name or a ``tzinfo``) and store them (a name)."""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from headwater.exceptions import InvalidScheduleError

_OFFSET = re.compile(r"([+-])(\d\d):(\d\d)")


def parse_zone(value: str | tzinfo, owner: str) -> tzinfo:
    """``value`` as a ``tzinfo``: an IANA name (``"Europe/Berlin"``), ``"UTC"``, a fixed
    offset (``"+05:30"``) or a ``tzinfo`` already. ``owner`` names the timetable in errors."""
    if isinstance(value, tzinfo):
        return value
    if not isinstance(value, str):
        raise InvalidScheduleError(
            f"{owner}: timezone must be a name like 'Europe/Berlin' or a tzinfo, got {value!r}"
        )
    if value == "UTC":
        return UTC
    offset = _OFFSET.fullmatch(value)
    if offset is not None:
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidScheduleError(
            f"{owner}: unknown time zone {value!r} (an IANA name like 'Europe/Berlin', 'UTC' "
            "or an offset like '+05:30')"
        ) from None


def zone_name(zone: tzinfo) -> str:
    """The name :func:`parse_zone` reads back: the zone's IANA key, ``"UTC"``, or its fixed
    offset as ``+HH:MM``."""
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    offset = zone.utcoffset(None)
    if offset is None:
        raise InvalidScheduleError(f"time zone {zone!r} has no name or fixed offset to store")
    if offset == timedelta(0):
        return "UTC"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
