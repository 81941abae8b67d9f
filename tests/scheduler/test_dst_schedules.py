"""Cron schedules across daylight-saving changes: the intervals the scheduler plans and a
backfill plans, in UTC, on both 2025 changes of Europe/Berlin and America/New_York.

The rule (docs/scheduling.md): a schedule that names its hours runs once per wall-clock
occurrence (on a fall-back day a time in the repeated hour runs the first time only; on a
spring-forward day a time that does not exist runs when the clocks have gone forward); a
schedule whose hour field is ``*`` runs on absolute time, every real hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from headwater import DAG
from headwater.scheduler.run_planning import (
    DataInterval,
    intervals_between,
    next_scheduled_interval,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def z(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of 2025, in UTC."""
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def planned(dag: DAG, until: datetime) -> list[tuple[datetime, datetime]]:
    """The intervals the scheduler creates, one after the other, whose logical date is
    before ``until`` (catchup, the scheduler's own planning function)."""
    out: list[DataInterval] = []
    last = None
    far = until + timedelta(days=30)
    while (nxt := next_scheduled_interval(dag, last, far)) and nxt.start < until:
        out.append(nxt)
        last = nxt
    return [(i.start, i.end) for i in out]


def check_contiguous(intervals: list[tuple[datetime, datetime]]) -> None:
    for start, end in intervals:
        assert start < end, (start, end)
    for (_, end), (start, _) in pairwise(intervals):
        assert end == start


def daily(first: datetime, second: datetime, third: datetime, fourth: datetime) -> list:
    return [(first, second), (second, third), (third, fourth)]


# Three days around each change: the day before, the change day, the day after. The DAG
# starts at local midnight of the day before.
DAILY_CASES = [
    # Berlin, 2025-03-30: 02:00 CET -> 03:00 CEST. 02:00 and 02:30 do not exist: the run of
    # that day is at 03:00 CEST (01:00 UTC), when the clocks have gone forward.
    pytest.param(
        BERLIN,
        (3, 29),
        "0 2 * * *",
        daily(z(3, 29, 1), z(3, 30, 1), z(3, 31, 0), z(4, 1, 0)),
        id="berlin-spring-0200",
    ),
    pytest.param(
        BERLIN,
        (3, 29),
        "30 2 * * *",
        daily(z(3, 29, 1, 30), z(3, 30, 1), z(3, 31, 0, 30), z(4, 1, 0, 30)),
        id="berlin-spring-0230",
    ),
    pytest.param(
        BERLIN,
        (3, 29),
        "@daily",
        daily(z(3, 28, 23), z(3, 29, 23), z(3, 30, 22), z(3, 31, 22)),
        id="berlin-spring-daily",
    ),
    # Berlin, 2025-10-26: 03:00 CEST -> 02:00 CET; 02:00-03:00 happens twice. One run that
    # day, at the first 02:00 (00:00 UTC); the day's interval is 25 hours long.
    pytest.param(
        BERLIN,
        (10, 25),
        "0 2 * * *",
        daily(z(10, 25, 0), z(10, 26, 0), z(10, 27, 1), z(10, 28, 1)),
        id="berlin-fall-0200",
    ),
    pytest.param(
        BERLIN,
        (10, 25),
        "30 2 * * *",
        daily(z(10, 25, 0, 30), z(10, 26, 0, 30), z(10, 27, 1, 30), z(10, 28, 1, 30)),
        id="berlin-fall-0230",
    ),
    pytest.param(
        BERLIN,
        (10, 25),
        "@daily",
        daily(z(10, 24, 22), z(10, 25, 22), z(10, 26, 23), z(10, 27, 23)),
        id="berlin-fall-daily",
    ),
    # New York, 2025-03-09: 02:00 EST -> 03:00 EDT.
    pytest.param(
        NEW_YORK,
        (3, 8),
        "0 2 * * *",
        daily(z(3, 8, 7), z(3, 9, 7), z(3, 10, 6), z(3, 11, 6)),
        id="new-york-spring-0200",
    ),
    pytest.param(
        NEW_YORK,
        (3, 8),
        "30 2 * * *",
        daily(z(3, 8, 7, 30), z(3, 9, 7), z(3, 10, 6, 30), z(3, 11, 6, 30)),
        id="new-york-spring-0230",
    ),
    pytest.param(
        NEW_YORK,
        (3, 8),
        "@daily",
        daily(z(3, 8, 5), z(3, 9, 5), z(3, 10, 4), z(3, 11, 4)),
        id="new-york-spring-daily",
    ),
    # New York, 2025-11-02: 02:00 EDT -> 01:00 EST; 01:00-02:00 happens twice.
    pytest.param(
        NEW_YORK,
        (11, 1),
        "0 2 * * *",
        daily(z(11, 1, 6), z(11, 2, 7), z(11, 3, 7), z(11, 4, 7)),
        id="new-york-fall-0200",
    ),
    pytest.param(
        NEW_YORK,
        (11, 1),
        "30 2 * * *",
        daily(z(11, 1, 6, 30), z(11, 2, 7, 30), z(11, 3, 7, 30), z(11, 4, 7, 30)),
        id="new-york-fall-0230",
    ),
    pytest.param(
        NEW_YORK,
        (11, 1),
        "30 1 * * *",  # in New York's repeated hour: once, at the first 01:30 (EDT)
        daily(z(11, 1, 5, 30), z(11, 2, 5, 30), z(11, 3, 6, 30), z(11, 4, 6, 30)),
        id="new-york-fall-0130",
    ),
    pytest.param(
        NEW_YORK,
        (11, 1),
        "@daily",
        daily(z(11, 1, 4), z(11, 2, 4), z(11, 3, 5), z(11, 4, 5)),
        id="new-york-fall-daily",
    ),
]


@pytest.mark.parametrize(("zone", "day_before", "schedule", "expected"), DAILY_CASES)
def test_a_daily_cron_runs_once_a_day_across_a_dst_change(
    zone: ZoneInfo, day_before: tuple[int, int], schedule: str, expected: list
) -> None:
    start = datetime(2025, *day_before, tzinfo=zone)
    dag = DAG("dst", schedule=schedule, start_date=start, catchup=True)
    intervals = planned(dag, until=start + timedelta(days=3))
    assert intervals == expected
    check_contiguous(intervals)
    # A backfill over the same days plans the very same intervals.
    backfill = intervals_between(dag, start, expected[-1][0])
    assert [(i.start, i.end) for i in backfill] == expected


HOURLY_CASES = [
    pytest.param(BERLIN, (3, 30), 23, id="berlin-spring"),
    pytest.param(BERLIN, (10, 26), 25, id="berlin-fall"),
    pytest.param(NEW_YORK, (3, 9), 23, id="new-york-spring"),
    pytest.param(NEW_YORK, (11, 2), 25, id="new-york-fall"),
]


@pytest.mark.parametrize(("zone", "day", "hours"), HOURLY_CASES)
def test_an_hourly_cron_runs_every_real_hour_across_a_dst_change(
    zone: ZoneInfo, day: tuple[int, int], hours: int
) -> None:
    start = datetime(2025, *day, tzinfo=zone)
    next_midnight = datetime(2025, *day, tzinfo=zone) + timedelta(days=1)  # wall-clock day
    dag = DAG("dst", schedule="0 * * * *", start_date=start, catchup=True)
    intervals = planned(dag, until=next_midnight)
    first = start.astimezone(UTC)
    # Every hour of absolute time from local midnight to the next: 23 or 25 of them.
    assert intervals == [
        (first + timedelta(hours=k), first + timedelta(hours=k + 1)) for k in range(hours)
    ]
    backfill = intervals_between(dag, start, intervals[-1][0])
    assert [(i.start, i.end) for i in backfill] == intervals


@pytest.mark.parametrize(
    ("schedule", "logical_date", "interval"),
    [
        # A manual run in the second 02:30 of Berlin's fall-back day belongs to the day's
        # one interval, which began at the first 02:00.
        ("0 2 * * *", z(10, 26, 1, 30), (z(10, 26, 0), z(10, 27, 1))),
        # 01:45 CET on the spring-forward day: the previous day's interval, which ends when
        # the clocks go forward (03:00 CEST), the day's 02:30 that does not exist.
        ("30 2 * * *", z(3, 30, 0, 45), (z(3, 29, 1, 30), z(3, 30, 1))),
    ],
)
def test_a_manual_run_on_a_dst_day_takes_the_interval_that_contains_it(
    schedule: str, logical_date: datetime, interval: tuple[datetime, datetime]
) -> None:
    dag = DAG("dst", schedule=schedule, start_date=datetime(2025, 1, 1, tzinfo=BERLIN))
    assert dag.schedule.interval_for(logical_date, dag.start_date) == interval


def test_without_catchup_the_latest_interval_on_a_fall_back_day_is_the_whole_day() -> None:
    dag = DAG(
        "dst",
        schedule="0 2 * * *",
        start_date=datetime(2025, 10, 1, tzinfo=BERLIN),
        catchup=False,
    )
    # At 01:30 UTC on the 27th (02:30 CET): the 26th's one run is the latest complete one.
    latest = next_scheduled_interval(dag, None, z(10, 27, 1, 30))
    assert latest == DataInterval(z(10, 26, 0), z(10, 27, 1))


# -- end to end: the scheduler on a stored DAG, and a backfill of it ---------------------------


@pytest.mark.parametrize(
    ("schedule", "start_day", "expected"),
    [
        pytest.param(
            "0 2 * * *",
            25,
            daily(z(10, 25, 0), z(10, 26, 0), z(10, 27, 1), z(10, 28, 1)),
            id="daily-0200",
        ),
        pytest.param(
            "@hourly",
            26,  # 2025-10-26 00:00 in Berlin: 2025-10-25 22:00 UTC
            [
                (z(10, 25, 22) + timedelta(hours=k), z(10, 25, 22) + timedelta(hours=k + 1))
                for k in range(25)
            ],
            id="hourly",
        ),
    ],
)
def test_the_scheduler_and_a_backfill_plan_the_same_intervals_on_a_fall_back_day(
    harness, schedule: str, start_day: int, expected: list
) -> None:
    from headwater.operations import plan_backfill

    harness.write_dag(
        "berlin",
        f"""
        from zoneinfo import ZoneInfo

        with DAG("berlin", schedule={schedule!r}, catchup=True, max_active_runs=100,
                 start_date=datetime(2025, 10, {start_day}, tzinfo=ZoneInfo("Europe/Berlin")),
                 end_date=datetime.fromisoformat({expected[-1][0].isoformat()!r})):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    harness.clock.advance(z(10, 29, 12) - harness.clock.now())
    harness.run_until(lambda: len(harness.runs("berlin")) == len(expected))
    made = sorted((r.data_interval_start, r.data_interval_end) for r in harness.runs("berlin"))
    assert made == expected
    assert {r.run_type for r in harness.runs("berlin")} == {"scheduled"}
    plan = plan_backfill(
        harness.store, "berlin", expected[0][0], expected[-1][0], now=z(10, 29, 12)
    )
    assert [(i.data_interval_start, i.data_interval_end) for i in plan] == expected
    assert {i.action for i in plan} == {"skip"}
