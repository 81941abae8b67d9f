"""Datetimes and durations as headwater keeps them: plain :class:`datetime.datetime` and
:class:`datetime.timedelta` objects.

DAG files, tests and callers hand in datetime *subclasses* too, pendulum's above all (Airflow
users write ``pendulum.datetime(2025, 1, 1, tz="UTC")``). Such a subclass changes arithmetic
(pendulum's ``a - b`` is an ``Interval`` that ``timedelta`` division does not understand),
comparison and ``isoformat()``, so every place that accepts a datetime from outside converts it
once, with :func:`plain_datetime`, and the rest of headwater sees only plain ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo


def plain_datetime(value: datetime) -> datetime:
    """``value`` as a plain ``datetime`` at the same wall time, zone and fold.

    A ``ZoneInfo`` subclass (pendulum's ``Timezone``) becomes the ``ZoneInfo`` of the same
    key, and another fixed-offset zone (pendulum's ``FixedTimezone``) a ``datetime.timezone``;
    other zones are kept. A plain datetime is returned as it is. Example::

        plain_datetime(pendulum.datetime(2025, 1, 1, tz="Europe/Berlin"))
        # datetime(2025, 1, 1, tzinfo=ZoneInfo("Europe/Berlin"))
    """
    zone = _plain_zone(value.tzinfo)
    if type(value) is datetime and zone is value.tzinfo:
        return value
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=zone,
        fold=value.fold,
    )


def _plain_zone(zone: tzinfo | None) -> tzinfo | None:
    if zone is None or type(zone) in (ZoneInfo, timezone):
        return zone
    if isinstance(zone, ZoneInfo) and zone.key:
        return ZoneInfo(zone.key)
    # A zone whose offset does not depend on the date answers without one (the tzinfo
    # protocol); a zone with daylight-saving rules answers None and is kept as it is.
    try:
        offset = zone.utcoffset(None)
    except (TypeError, ValueError, AttributeError):
        return zone
    return timezone(offset) if isinstance(offset, timedelta) else zone


def plain_timedelta(value: timedelta) -> timedelta:
    """``value`` as a plain ``timedelta`` of the same length: a subclass (pendulum's
    ``Duration``) changes arithmetic and ``repr``, so it is converted once, where it comes in.

    Example: ``plain_timedelta(pendulum.duration(hours=6)) == timedelta(hours=6)``.
    """
    if type(value) is timedelta:
        return value
    return timedelta(days=value.days, seconds=value.seconds, microseconds=value.microseconds)
