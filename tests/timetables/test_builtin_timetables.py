"""The built-in timetables, asked directly: the runs each plans (catchup on and off, across
daylight-saving changes, up to an end date) and the data interval of a manual run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from headwater import DAG
from headwater.exceptions import InvalidScheduleError
from headwater.timetables import (
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    DagRunInfo,
    DataInterval,
    DeltaDataIntervalTimetable,
    EventsTimetable,
    MultipleCronTriggerTimetable,
    NullTimetable,
    OnceTimetable,
    TimeRestriction,
    Timetable,
)

BERLIN = ZoneInfo("Europe/Berlin")


def at(day: int, hour: int = 0, minute: int = 0, month: int = 1, year: int = 2024) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def walk(
    timetable: Timetable,
    *,
    earliest: datetime | None,
    now: datetime,
    catchup: bool = True,
    latest: datetime | None = None,
    last: DataInterval | None = None,
) -> list[DagRunInfo]:
    """The runs a scheduler creates by ``now``, one after another."""
    restriction = TimeRestriction(earliest, latest, catchup, now=now)
    out: list[DagRunInfo] = []
    while len(out) < 50:
        info = timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )
        if info is None or info.run_after > now:
            break
        out.append(info)
        last = info.data_interval
    return out


def spans(infos: list[DagRunInfo]) -> list[tuple[datetime, datetime]]:
    return [tuple(i.data_interval) for i in infos]  # type: ignore[misc]


# -- cron with data intervals ------------------------------------------------------------------


def test_cron_data_intervals_run_each_complete_interval_with_catchup() -> None:
    daily = CronDataIntervalTimetable("@daily", timezone="UTC")
    runs = walk(daily, earliest=at(1), now=at(4, 6))
    assert spans(runs) == [(at(1), at(2)), (at(2), at(3)), (at(3), at(4))]
    assert [r.logical_date for r in runs] == [at(1), at(2), at(3)]
    assert [r.run_after for r in runs] == [at(2), at(3), at(4)]


def test_cron_data_intervals_without_catchup_start_at_the_latest_complete_one() -> None:
    daily = CronDataIntervalTimetable("0 0 * * *", timezone="UTC")
    assert spans(walk(daily, earliest=at(1), now=at(10, 13), catchup=False)) == [(at(9), at(10))]
    # The run of the 9th exists: the next one waits for the 10th to end.
    info = daily.next_dagrun_info(
        last_automated_data_interval=DataInterval(at(9), at(10)),
        restriction=TimeRestriction(at(1), None, False, now=at(10, 13)),
    )
    assert info == DagRunInfo.interval(at(10), at(11))


def test_cron_data_intervals_follow_the_zone_across_a_spring_forward_change() -> None:
    # 06:00 in Berlin: 05:00 UTC in winter, 04:00 UTC from 2025-03-30 on.
    six = CronDataIntervalTimetable("0 6 * * *", timezone="Europe/Berlin")
    runs = walk(six, earliest=at(29, 0, month=3, year=2025), now=at(1, 12, month=4, year=2025))
    assert spans(runs) == [
        (at(29, 5, month=3, year=2025), at(30, 4, month=3, year=2025)),  # 23 hours
        (at(30, 4, month=3, year=2025), at(31, 4, month=3, year=2025)),
        (at(31, 4, month=3, year=2025), at(1, 4, month=4, year=2025)),
    ]


def test_an_end_date_ends_the_runs() -> None:
    daily = CronDataIntervalTimetable("@daily", timezone="UTC")
    assert len(walk(daily, earliest=at(1), latest=at(3), now=at(20))) == 3
    assert walk(daily, earliest=None, now=at(20)) == []  # no start date: never scheduled


def test_a_manual_run_of_a_cron_data_interval_covers_the_interval_that_contains_it() -> None:
    six = CronDataIntervalTimetable("0 6 * * *", timezone=BERLIN)
    assert six.infer_manual_data_interval(run_after=at(15, 12)) == (at(15, 5), at(16, 5))


# -- cron triggers -----------------------------------------------------------------------------


def test_a_cron_trigger_runs_at_its_fire_times_with_no_interval() -> None:
    weekdays = CronTriggerTimetable("0 6 * * 1-5", timezone="UTC")
    # 2024-01-05 is a Friday.
    runs = walk(weekdays, earliest=at(5), now=at(9, 6))
    assert [r.logical_date for r in runs] == [at(5, 6), at(8, 6), at(9, 6)]
    assert [r.run_after for r in runs] == [at(5, 6), at(8, 6), at(9, 6)]
    assert all(r.data_interval == DataInterval.exact(r.logical_date) for r in runs)


def test_a_cron_trigger_with_an_interval_covers_the_time_before_each_fire_time() -> None:
    hourly = CronTriggerTimetable("0 * * * *", timezone="UTC", interval=timedelta(hours=1))
    runs = walk(hourly, earliest=at(1, 10), now=at(1, 12))
    assert spans(runs) == [(at(1, 9), at(1, 10)), (at(1, 10), at(1, 11)), (at(1, 11), at(1, 12))]
    assert [r.run_after for r in runs] == [at(1, 10), at(1, 11), at(1, 12)]
    assert hourly.infer_manual_data_interval(run_after=at(3, 7, 30)) == (at(3, 6, 30), at(3, 7, 30))


def test_a_cron_trigger_without_catchup_runs_the_latest_fire_time_only() -> None:
    weekdays = CronTriggerTimetable("0 6 * * 1-5", timezone="UTC")
    first = walk(weekdays, earliest=at(1), now=at(10, 7), catchup=False)
    assert [r.logical_date for r in first] == [at(10, 6)]
    # After Monday's run, on Wednesday at 07:00: Tuesday is skipped.
    later = walk(
        weekdays, earliest=at(1), now=at(10, 7), catchup=False, last=DataInterval.exact(at(8, 6))
    )
    assert [r.logical_date for r in later] == [at(10, 6)]


def test_cron_triggers_across_both_daylight_saving_changes_in_berlin() -> None:
    def fires(cron: str, month: int, first: int, now: datetime) -> list[datetime]:
        timetable = CronTriggerTimetable(cron, timezone="Europe/Berlin")
        runs = walk(timetable, earliest=at(first, month=month, year=2025), now=now)
        return [r.logical_date for r in runs]

    # 2025-03-30: 02:30 does not exist; the run fires when the clocks have gone forward.
    assert fires("30 2 * * *", 3, 29, at(31, 12, month=3, year=2025)) == [
        at(29, 1, 30, month=3, year=2025),
        at(30, 1, month=3, year=2025),
        at(31, 0, 30, month=3, year=2025),
    ]
    # 2025-10-26: 02:00 happens twice; the run fires the first time only.
    assert fires("0 2 * * *", 10, 25, at(27, 12, month=10, year=2025)) == [
        at(25, 0, month=10, year=2025),
        at(26, 0, month=10, year=2025),
        at(27, 1, month=10, year=2025),
    ]


def test_a_restriction_latest_before_the_next_fire_time_means_no_run() -> None:
    weekdays = CronTriggerTimetable("0 6 * * 1-5", timezone="UTC")
    assert walk(weekdays, earliest=at(6), latest=at(7, 23), now=at(20)) == []  # a weekend


def test_several_crons_run_once_per_moment_in_order() -> None:
    both = MultipleCronTriggerTimetable("0 6 * * 1-5", "0 9 * * 0,6", "0 6 * * 1", timezone="UTC")
    runs = walk(both, earliest=at(5), now=at(8, 12))
    assert [r.logical_date for r in runs] == [at(5, 6), at(6, 9), at(7, 9), at(8, 6)]
    assert both.summary == "0 6 * * 1-5, 0 9 * * 0,6, 0 6 * * 1"
    no_catchup = walk(both, earliest=at(1), now=at(7, 10), catchup=False)
    assert [r.logical_date for r in no_catchup] == [at(7, 9)]


# -- delta, events, none, once -----------------------------------------------------------------


def test_a_delta_timetable_counts_its_grid_from_the_dag_start_date() -> None:
    given = DAG(
        "given", schedule=DeltaDataIntervalTimetable(timedelta(hours=6)), start_date=at(1, 1)
    )
    plain = DAG("plain", schedule=timedelta(hours=6), start_date=at(1, 1))
    for dag in (given, plain):
        assert isinstance(dag.timetable, DeltaDataIntervalTimetable)
        runs = walk(dag.timetable, earliest=at(1, 1), now=at(1, 20))
        assert spans(runs) == [(at(1, 1), at(1, 7)), (at(1, 7), at(1, 13)), (at(1, 13), at(1, 19))]
        assert dag.timetable.infer_manual_data_interval(run_after=at(2, 3)) == (at(2, 1), at(2, 7))
    assert given.schedule.description == plain.schedule.description == "6:00:00"


def test_events_run_at_each_listed_moment() -> None:
    events = EventsTimetable([at(20, 19), at(3, 19), at(10, 19), at(10, 19)])
    assert events.summary == "4 events"
    runs = walk(events, earliest=at(1), now=at(31))
    assert [r.logical_date for r in runs] == [at(3, 19), at(10, 19), at(20, 19)]
    assert all(r.data_interval == DataInterval.exact(r.logical_date) for r in runs)
    # Without catchup, events that have passed are skipped.
    assert [r.logical_date for r in walk(events, earliest=at(1), now=at(15), catchup=False)] == []
    nxt = events.next_dagrun_info(
        last_automated_data_interval=None, restriction=TimeRestriction(at(1), None, False, at(15))
    )
    assert nxt is not None and nxt.logical_date == at(20, 19)
    assert walk(events, earliest=at(1), latest=at(12), now=at(31))[-1].logical_date == at(10, 19)


def test_a_manual_run_of_an_events_timetable() -> None:
    free = EventsTimetable([at(3, 19), at(10, 19)])
    assert free.infer_manual_data_interval(run_after=at(5)) == DataInterval.exact(at(5))
    bound = EventsTimetable([at(3, 19), at(10, 19)], restrict_to_events=True, description="games")
    assert bound.infer_manual_data_interval(run_after=at(5)) == DataInterval.exact(at(3, 19))
    assert bound.infer_manual_data_interval(run_after=at(1)) == DataInterval.exact(at(3, 19))
    assert (bound.summary, bound.description) == ("games", "games")


def test_no_schedule_and_once() -> None:
    assert (
        NullTimetable().next_dagrun_info(
            last_automated_data_interval=None, restriction=TimeRestriction(at(1), None, True)
        )
        is None
    )
    assert not NullTimetable().can_be_scheduled
    once = OnceTimetable()
    assert walk(once, earliest=at(1, 8), now=at(9)) == [DagRunInfo.exact(at(1, 8))]
    assert not once.periodic
    dag = DAG("none", schedule=None)
    assert (type(dag.timetable), dag.timetable.summary) == (NullTimetable, "None")
    assert DAG("once", schedule="@once").timetable == OnceTimetable()


def test_schedule_strings_map_to_cron_data_intervals_in_the_start_date_zone() -> None:
    dag = DAG("berlin", schedule="@daily", start_date=datetime(2024, 1, 1, tzinfo=BERLIN))
    assert dag.timetable == CronDataIntervalTimetable("@daily", timezone="Europe/Berlin")
    assert dag.timetable.summary == dag.schedule.description == "@daily"


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: CronTriggerTimetable("0 25 * * *", timezone="UTC"),
            "the hour field '25' is not valid",
        ),
        (lambda: CronDataIntervalTimetable("@fortnightly", "UTC"), "unknown schedule preset"),
        (
            lambda: CronTriggerTimetable("0 6 * * *", timezone="Mars/Olympus"),
            "CronTriggerTimetable: unknown time zone 'Mars/Olympus'",
        ),
        (
            lambda: CronTriggerTimetable("0 6 * * *", "UTC", interval=timedelta(hours=-1)),
            "interval must be a timedelta of zero or more",
        ),
        (lambda: MultipleCronTriggerTimetable(timezone="UTC"), "give at least one cron"),
        (lambda: EventsTimetable([datetime(2024, 1, 1)]), "must be an aware datetime"),
    ],
)
def test_bad_timetables_are_refused_saying_why(build: object, message: str) -> None:
    with pytest.raises(InvalidScheduleError, match=message):
        build()  # type: ignore[operator]


def test_a_dag_names_itself_when_its_timetable_never_fires() -> None:
    with pytest.raises(InvalidScheduleError, match=r"DAG 'feb30': schedule: .*never fires"):
        DAG("feb30", schedule=CronTriggerTimetable("0 0 30 2 *", timezone="UTC"))


def test_a_timetable_class_instead_of_an_instance_is_refused() -> None:
    with pytest.raises(InvalidScheduleError, match="or a Timetable"):
        DAG("cls", schedule=NullTimetable)  # type: ignore[arg-type]
