"""A DAG's schedule in words, for people who do not read cron: ``"0 8 * * *"`` is "every day
at 08:00 UTC", ``timedelta(minutes=30)`` "every 30 minutes", ``None`` "never (manual
only)". Example::

    schedule_in_words("@daily")  # 'every day at 00:00 UTC'

Cron expressions other than the common shapes are described by the ``cron-descriptor``
package ("at 04:05 UTC, Monday through Friday"). The schedule is as the DAG processor
stored it (``dags.schedule``: a cron expression, a preset, ``@once``, a ``timedelta`` as
``str()`` writes it, a timetable's summary, or None); anything unreadable is shown as
written. :func:`stored_schedule_words` prefers a timetable's own description.
"""

from __future__ import annotations

import functools
import re

from headwater.authoring.schedules import PRESETS

NEVER = "never (manual only)"

_DELTA = re.compile(r"(?:(\d+) days?, )?(\d+):(\d\d):(\d\d)(?:\.\d+)?")
_NUMBER = re.compile(r"\d{1,2}")
_EVERY_N_MINUTES = re.compile(r"\*/(\d{1,2})")
_CLOCK_TIME = re.compile(r"\b(\d\d:\d\d)\b")
_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


@functools.lru_cache(maxsize=1024)
def schedule_in_words(schedule: str | None, zone: str = "UTC") -> str:
    """``schedule`` (as stored) in words; cron times are read in ``zone``. Remembered: a
    list of 100 DAGs asks for a few distinct schedules, and checking a cron expression
    costs more than the rest of a DAG's row."""
    if schedule is None or not schedule.strip():
        return NEVER
    text = schedule.strip()
    if text == "@once":
        return "once"
    delta = _DELTA.fullmatch(text)
    if delta is not None:
        days, hours, minutes, seconds = (int(part or 0) for part in delta.groups())
        return _every_interval(((days * 24 + hours) * 60 + minutes) * 60 + seconds)
    return _cron_in_words(PRESETS.get(text, text), zone) or text


def _every_interval(total_seconds: int) -> str:
    if total_seconds <= 0:
        return NEVER
    parts = []
    for unit, size in _UNITS:
        count, total_seconds = divmod(total_seconds, size)
        if count:
            parts.append((count, unit))
    if len(parts) == 1 and parts[0][0] == 1:
        return f"every {parts[0][1]}"
    return "every " + ", ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts)


def _cron_in_words(expression: str, zone: str) -> str | None:
    from croniter import croniter

    fields = expression.split()
    if len(fields) != 5 or not croniter.is_valid(expression):
        return None
    minute, hour, day, month, weekday = fields
    if (day, month, weekday) == ("*", "*", "*"):
        if _NUMBER.fullmatch(minute) and _NUMBER.fullmatch(hour):
            return f"every day at {int(hour):02d}:{int(minute):02d} {zone}"
        if hour == "*":
            if minute == "0":
                return "every hour"
            if minute == "*":
                return "every minute"
            every = _EVERY_N_MINUTES.fullmatch(minute)
            if every is not None:
                return _every_interval(int(every.group(1)) * 60)
    return _described(expression, zone)


def _described(expression: str, zone: str) -> str | None:
    """The ``cron-descriptor`` package's words, times followed by ``zone``."""
    from cron_descriptor import ExpressionDescriptor, Options

    options = Options()
    options.use_24hour_time_format = True
    try:
        words = ExpressionDescriptor(expression, options).get_description()
    except Exception:  # its errors have no common base: anything it refuses is shown as written
        return None
    words = _CLOCK_TIME.sub(rf"\1 {zone}", words)
    return words[:1].lower() + words[1:]


def stored_schedule_words(text: str | None, serialized: object, zone: str = "UTC") -> str:
    """The words for a stored DAG's schedule: a timetable's own description (from the
    serialized DAG's ``schedule``: ``{"timetable": {..., "description"}}``), its summary when
    it has none; otherwise :func:`schedule_in_words` of the stored text."""
    if isinstance(serialized, dict) and isinstance(serialized.get("timetable"), dict):
        timetable = serialized["timetable"]
        return str(timetable.get("description") or timetable.get("summary") or text or NEVER)
    return schedule_in_words(text, zone)
