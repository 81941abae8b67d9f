"""Schedules in words, as the DAG list shows them."""

from __future__ import annotations

import pytest

from headwater.services.schedule_words import schedule_in_words


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (None, "never (manual only)"),
        ("@once", "once"),
        ("@daily", "every day at 00:00 UTC"),
        ("@midnight", "every day at 00:00 UTC"),
        ("@hourly", "every hour"),
        ("0 8 * * *", "every day at 08:00 UTC"),
        ("30 17 * * *", "every day at 17:30 UTC"),
        ("*/30 * * * *", "every 30 minutes"),
        ("* * * * *", "every minute"),
        ("0:30:00", "every 30 minutes"),
        ("1 day, 0:00:00", "every day"),
        ("2 days, 0:00:00", "every 2 days"),
        ("2:00:00", "every 2 hours"),
        ("1 day, 2:00:00", "every 1 day, 2 hours"),
        ("0:00:45", "every 45 seconds"),
        ("5 4 * * 1-5", "at 04:05 UTC, Monday through Friday"),
        ("@weekly", "at 00:00 UTC, only on Sunday"),
        ("@monthly", "at 00:00 UTC, on day 1 of the month"),
    ],
)
def test_schedules_in_words(schedule: str | None, words: str) -> None:
    assert schedule_in_words(schedule) == words


def test_cron_times_name_the_zone_they_are_read_in() -> None:
    assert schedule_in_words("0 8 * * *", "Europe/Paris") == "every day at 08:00 Europe/Paris"
    assert schedule_in_words("5 4 * * 1-5", "UTC+02:00") == (
        "at 04:05 UTC+02:00, Monday through Friday"
    )


def test_what_cannot_be_read_is_shown_as_written() -> None:
    assert schedule_in_words("61 25 * * *") == "61 25 * * *"
    assert schedule_in_words("every tuesday") == "every tuesday"
