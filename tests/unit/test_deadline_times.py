"""When deadlines and SLAs fall due (:mod:`headwater.scheduler.deadline_times`), and how the
serialized DAG keeps them (:mod:`headwater.dag_processing.serialized_deadlines`)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from headwater import DAG, Deadline, DeadlineReference
from headwater.dag_processing.serialized_dag import deserialize_dag, serialize_dag
from headwater.engine.records import DagRun
from headwater.operators import EmptyOperator
from headwater.scheduler.deadline_times import (
    dag_time_zone,
    deadline_due_at,
    expected_plans,
    has_deadlines,
    next_time_of_day,
    plans_for_run,
    sla_due_at,
)
from headwater.store.deadlines import DEADLINE, SLA

T0 = datetime(2024, 3, 9, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")


def _run(**fields: object) -> DagRun:
    values: dict[str, object] = {
        "dag_id": "d",
        "run_id": "r",
        "logical_date": T0,
        "data_interval_start": T0 - timedelta(days=1),
        "data_interval_end": T0,
    }
    values.update(fields)
    return DagRun(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (DeadlineReference.DATA_INTERVAL_END, T0 + timedelta(hours=2)),
        (DeadlineReference.LOGICAL_DATE, T0 + timedelta(hours=2)),
        (DeadlineReference.QUEUED_AT, T0 + timedelta(hours=3)),
        (DeadlineReference.STARTED_AT, T0 + timedelta(hours=4)),
    ],
)
def test_a_deadline_counts_from_its_reference(
    reference: DeadlineReference, expected: datetime
) -> None:
    deadline = Deadline(reference=reference, interval=timedelta(hours=2))
    run = _run(start_date=T0 + timedelta(hours=2))
    assert deadline_due_at(deadline, run, queued_at=T0 + timedelta(hours=1)) == expected


def test_a_deadline_whose_moment_is_unknown_is_not_due_yet() -> None:
    started = Deadline(reference=DeadlineReference.STARTED_AT, interval=timedelta(0))
    queued = Deadline(reference=DeadlineReference.QUEUED_AT, interval=timedelta(0))
    assert deadline_due_at(started, _run(), queued_at=None) is None
    assert deadline_due_at(queued, _run(), queued_at=None) is None
    assert sla_due_at(timedelta(minutes=5), _run(), UTC) is None


def test_a_duration_sla_counts_from_the_run_start() -> None:
    run = _run(start_date=T0 + timedelta(minutes=3))
    assert sla_due_at(timedelta(minutes=5), run, UTC) == T0 + timedelta(minutes=8)


def test_a_time_of_day_sla_is_the_next_such_time_in_the_dag_time_zone() -> None:
    # The interval ends at midnight UTC = 19:00 in New York (EST): 06:00 is the next morning.
    due = sla_due_at(time(6, 0), _run(), NEW_YORK)
    assert due == datetime(2024, 3, 9, 6, 0, tzinfo=NEW_YORK).astimezone(UTC)
    # 20:00 the same evening in New York.
    assert sla_due_at(time(20, 0), _run(), NEW_YORK) == datetime(2024, 3, 9, 1, 0, tzinfo=UTC)


def test_a_time_of_day_sla_of_a_run_without_a_data_interval_counts_from_its_start() -> None:
    run = _run(data_interval_start=T0, start_date=T0 + timedelta(hours=7))
    assert sla_due_at(time(6, 0), run, UTC) == T0 + timedelta(days=1, hours=6)
    assert sla_due_at(time(6, 0), _run(data_interval_start=T0), UTC) is None


def test_a_time_of_day_inside_a_dst_gap_falls_on_the_next_valid_moment() -> None:
    # 2024-03-10 02:30 does not exist in New York (clocks jump from 02:00 to 03:00).
    after = datetime(2024, 3, 10, 6, 0, tzinfo=UTC)  # 01:00 EST
    due = next_time_of_day(time(2, 30), after, NEW_YORK)
    assert due >= after and due.tzinfo is UTC


def test_plans_of_a_run_and_the_dag_time_zone() -> None:
    with DAG(
        "d",
        start_date=datetime(2024, 1, 1, tzinfo=NEW_YORK),
        deadline=[
            Deadline(reference=DeadlineReference.STARTED_AT, interval=timedelta(hours=1)),
            Deadline(
                reference=DeadlineReference.DATA_INTERVAL_END,
                interval=timedelta(hours=2),
                name="two_hours",
            ),
        ],
    ) as dag:
        EmptyOperator(task_id="a", sla=timedelta(minutes=30))
        EmptyOperator(task_id="b")
    assert dag_time_zone(dag) is NEW_YORK and has_deadlines(dag) and expected_plans(dag) == 3
    plans = list(plans_for_run(dag, _run(), queued_at=T0))
    assert [(p.name, p.kind, p.task_id) for p in plans] == [("two_hours", DEADLINE, None)]
    started = list(plans_for_run(dag, _run(start_date=T0), queued_at=T0))
    assert [(p.name, p.kind, p.task_id, p.due_at) for p in started] == [
        ("started_at+60m", DEADLINE, None, T0 + timedelta(hours=1)),
        ("two_hours", DEADLINE, None, T0 + timedelta(hours=2)),
        (SLA, SLA, "a", T0 + timedelta(minutes=30)),
    ]
    with DAG("plain") as plain:
        EmptyOperator(task_id="a")
    assert not has_deadlines(plain) and dag_time_zone(plain) is UTC


def _noop(context: dict[str, object]) -> None:
    pass


def test_the_serialized_dag_keeps_deadlines_slas_and_which_callbacks_exist() -> None:
    with DAG(
        "d",
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        sla_miss_callback=_noop,
        deadline=[
            Deadline(
                reference=DeadlineReference.QUEUED_AT,
                interval=timedelta(minutes=30),
                callback=_noop,
                name="asked",
            ),
            Deadline(reference=DeadlineReference.LOGICAL_DATE, interval=timedelta(hours=1)),
        ],
    ) as dag:
        EmptyOperator(task_id="a", sla=timedelta(minutes=5))
        EmptyOperator(task_id="b", sla=time(6, 30))
        EmptyOperator(task_id="c")
    rebuilt = deserialize_dag(serialize_dag(dag))
    assert [
        (d.name, d.reference, d.interval, d.callback is not None) for d in rebuilt.deadlines
    ] == [
        ("asked", DeadlineReference.QUEUED_AT, timedelta(minutes=30), True),
        ("logical_date+60m", DeadlineReference.LOGICAL_DATE, timedelta(hours=1), False),
    ]
    assert rebuilt.sla_miss_callback is not None
    assert {t: rebuilt.task_dict[t].sla for t in "abc"} == {
        "a": timedelta(minutes=5),
        "b": time(6, 30),
        "c": None,
    }
    with pytest.raises(RuntimeError, match="imports the DAG file"):
        rebuilt.deadlines[0].callback({})  # type: ignore[operator,misc]


def test_a_dag_without_deadlines_serializes_as_before() -> None:
    with DAG("plain", start_date=datetime(2024, 1, 1, tzinfo=UTC)) as dag:
        EmptyOperator(task_id="a")
    spec = serialize_dag(dag)["dag"]
    assert not {"deadlines", "sla_miss_callback", "task_slas"} & set(spec)
    rebuilt = deserialize_dag(serialize_dag(dag))
    assert rebuilt.deadlines == [] and rebuilt.sla_miss_callback is None
