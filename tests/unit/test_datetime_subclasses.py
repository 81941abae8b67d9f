"""Datetime subclasses (pendulum's, and any other) work wherever a datetime is accepted: the
DAG's start_date and end_date, default_args, logical dates, the fake clock, with timedelta,
cron and preset schedules, through the public test runner and ``headwater dags test``."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pendulum
import pytest
from click.testing import CliRunner

from headwater import DAG, task
from headwater.cli import cli
from headwater.clock import FakeClock
from headwater.testing import run_dag

BERLIN = ZoneInfo("Europe/Berlin")


class MyDatetime(datetime):
    """A datetime subclass of the kind DAG files bring (arrow, pendulum, home-made)."""

    def __sub__(self, other):  # type: ignore[override]
        result = super().__sub__(other)
        if isinstance(result, timedelta):
            return ("my interval", result)  # not a timedelta: as pendulum's Interval
        return result


def build(schedule: object, start: datetime, **kwargs: object) -> DAG:
    with DAG("subclassed", schedule=schedule, start_date=start, **kwargs) as dag:

        @task
        def dates(data_interval_start=None, data_interval_end=None, ds=None) -> list[str]:
            return [data_interval_start.isoformat(), data_interval_end.isoformat(), ds]

        dates()
    return dag


SCHEDULES = [
    pytest.param(timedelta(hours=6), id="timedelta"),
    pytest.param("0 6 * * *", id="cron"),
    pytest.param("@daily", id="preset"),
]


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize(
    "start",
    [
        pytest.param(lambda: pendulum.datetime(2025, 1, 1, tz="Europe/Berlin"), id="pendulum"),
        pytest.param(lambda: pendulum.today("UTC").subtract(days=30), id="pendulum-today"),
        pytest.param(lambda: MyDatetime(2025, 1, 1, tzinfo=BERLIN), id="subclass"),
    ],
)
def test_a_dag_with_a_subclassed_start_date_runs(schedule: object, start) -> None:
    start_date = start()
    dag = build(
        schedule,
        start_date,
        end_date=start_date + timedelta(days=400),
        default_args={"start_date": start_date},
    )
    assert type(dag.start_date) is datetime and type(dag.end_date) is datetime
    assert dag.start_date == start_date
    logical = pendulum.instance(start_date).add(days=3, hours=7)
    result = run_dag(dag, logical_date=logical, clock=FakeClock(pendulum.datetime(2025, 6, 1)))
    assert result.succeeded
    run = result.run
    assert type(run.logical_date) is datetime
    assert run.logical_date == logical
    start, end, ds = result.xcom("dates")
    assert datetime.fromisoformat(start) <= logical < datetime.fromisoformat(end)
    assert ds == logical.strftime("%Y-%m-%d")


def test_a_timedelta_interval_is_on_the_start_date_grid_with_pendulum() -> None:
    dag = build(timedelta(hours=6), pendulum.datetime(2025, 1, 1, tz="Europe/Berlin"))
    logical = pendulum.datetime(2025, 1, 2, 8, 30, tz="UTC")
    result = run_dag(dag, logical_date=logical)
    # The grid starts at 2025-01-01 00:00 Berlin, 2024-12-31 23:00 UTC: 05:00 to 11:00 UTC.
    assert result.run.data_interval_start == datetime(2025, 1, 2, 5, tzinfo=UTC)
    assert result.run.data_interval_end == datetime(2025, 1, 2, 11, tzinfo=UTC)


def test_a_fake_clock_started_with_pendulum_keeps_plain_datetimes() -> None:
    clock = FakeClock(pendulum.datetime(2025, 1, 1, tz="Europe/Berlin"))
    clock.advance(timedelta(hours=1))
    assert type(clock.now()) is datetime
    assert clock.now() == datetime(2025, 1, 1, tzinfo=UTC)


def test_plain_datetime_keeps_the_moment_the_zone_and_the_fold() -> None:
    from headwater.authoring.dates import plain_datetime

    second_pass = pendulum.datetime(2025, 10, 26, 2, 30, tz="Europe/Berlin", fold=1)
    plain = plain_datetime(second_pass)
    assert type(plain) is datetime and type(plain.tzinfo) is ZoneInfo
    # (PEP 495: a time in a fold never equals one of another zone object; compare in UTC.)
    assert plain.astimezone(UTC) == datetime(2025, 10, 26, 1, 30, tzinfo=UTC)
    assert plain.utcoffset() == timedelta(hours=1)
    fixed = plain_datetime(pendulum.datetime(2025, 1, 1, tz=pendulum.FixedTimezone(5400)))
    assert fixed.utcoffset() == timedelta(minutes=90)
    unchanged = datetime(2025, 1, 1, tzinfo=UTC)
    assert plain_datetime(unchanged) is unchanged


DAG_FILE = """
from datetime import timedelta
import pendulum
from headwater import DAG
from headwater.operators import BashOperator

for dag_id, schedule in [("delta", timedelta(days=1)), ("cron", "0 6 * * *"), ("preset", "@daily")]:
    with DAG(dag_id, schedule=schedule, start_date=pendulum.datetime(2025, 1, 1, tz="Europe/Berlin"),
             default_args={"start_date": pendulum.today("UTC")}):
        BashOperator(task_id="show", bash_command="echo interval {{ data_interval_start }}")
"""


@pytest.mark.parametrize("dag_id", ["delta", "cron", "preset"])
def test_dags_test_runs_a_dag_file_written_with_pendulum(tmp_path: Path, dag_id: str) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "pendulum_dags.py").write_text(textwrap.dedent(DAG_FILE))
    result = CliRunner().invoke(
        cli,
        ["dags", "test", dag_id, "--folder", str(folder), "--logical-date", "2025-03-04T10:00"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert f"DAG {dag_id} succeeded" in result.output
    assert "interval 2025-03-0" in result.output
