"""Small gaps Airflow's example DAG files hit: a sensor never waits past its ``timeout``
(poke and reschedule mode, on a fake clock), the virtualenv operators accept Airflow's
``serializer``, and ``BaseOperator.render_template`` renders as template fields do."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import headwater.runtime.templating  # noqa: F401  (registers BaseOperator.render_template's renderer)
from headwater import DAG, task
from headwater.clock import FakeClock
from headwater.exceptions import (
    DagDefinitionError,
    SensorTimeout,
    TaskRescheduled,
    TaskSkipped,
    TemplateRenderError,
)
from headwater.operators import PythonOperator
from headwater.operators.python_virtualenv import (
    ExternalPythonOperator,
    PythonVirtualenvOperator,
)
from headwater.sensors.base import BaseSensorOperator

START = datetime(2024, 1, 1, tzinfo=UTC)


class NeverSensor(BaseSensorOperator):
    """Pokes without the condition ever holding, counting its pokes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pokes = 0

    def poke(self, context: dict[str, Any]) -> bool:
        self.pokes += 1
        return False


class FakeTi:
    """The parts of ``ti`` a sensor uses, on a fake clock that its ``sleep`` advances."""

    def __init__(
        self,
        clock: FakeClock,
        wait_started_at: datetime | None = None,
        previous_pokes: int = 0,
    ) -> None:
        self.now = clock.now
        self.slept: list[float] = []
        self._clock = clock
        self.wait_started_at = wait_started_at
        self.previous_pokes = previous_pokes
        self.log = logging.getLogger("test.sensor")

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._clock.advance(timedelta(seconds=seconds))


def run_sensor(sensor: BaseSensorOperator, ti: FakeTi) -> None:
    sensor.execute({"ti": ti})


def test_a_poke_sensor_with_a_timeout_shorter_than_its_interval_waits_only_the_timeout() -> None:
    clock = FakeClock(START)
    ti = FakeTi(clock)
    sensor = NeverSensor(task_id="wait", timeout=3, poke_interval=60)
    with pytest.raises(SensorTimeout, match=r"'wait' timed out after 3 s \(timeout 3 s\)"):
        run_sensor(sensor, ti)
    assert ti.slept == [3.0]  # the 60 s wait cut to the 3 s left
    assert sensor.pokes == 2  # one more poke at the timeout, then it gives up


def test_a_soft_fail_sensor_is_skipped_at_its_timeout_not_after_its_interval() -> None:
    clock = FakeClock(START)
    ti = FakeTi(clock)
    sensor = NeverSensor(task_id="soft", timeout=3, poke_interval=60, soft_fail=True)
    with pytest.raises(TaskSkipped, match="'soft' timed out after 3 s"):
        run_sensor(sensor, ti)
    assert ti.slept == [3.0]


def test_only_the_last_wait_is_cut_to_the_time_left() -> None:
    clock = FakeClock(START)
    ti = FakeTi(clock)
    sensor = NeverSensor(task_id="wait", timeout=150, poke_interval=60)
    with pytest.raises(SensorTimeout, match="after 150 s"):
        run_sensor(sensor, ti)
    assert ti.slept == [60.0, 60.0, 30.0]
    assert sensor.pokes == 4


def test_exponential_backoff_is_cut_at_the_timeout_too() -> None:
    clock = FakeClock(START)
    ti = FakeTi(clock)
    sensor = NeverSensor(task_id="wait", timeout=10, poke_interval=2, exponential_backoff=True)
    with pytest.raises(SensorTimeout, match="after 10 s"):
        run_sensor(sensor, ti)
    assert ti.slept == [2.0, 4.0, 4.0]  # 2, then 4, then 8 cut to the 4 left


def test_a_zero_timeout_times_out_after_one_poke_without_waiting() -> None:
    clock = FakeClock(START)
    ti = FakeTi(clock)
    sensor = NeverSensor(task_id="wait", timeout=0, poke_interval=60)
    with pytest.raises(SensorTimeout):
        run_sensor(sensor, ti)
    assert ti.slept == []
    assert sensor.pokes == 1


def test_reschedule_mode_reschedules_no_later_than_the_timeout() -> None:
    clock = FakeClock(START)
    sensor = NeverSensor(task_id="wait", timeout=3, poke_interval=60, mode="reschedule")
    with pytest.raises(TaskRescheduled) as first:
        run_sensor(sensor, FakeTi(clock))
    assert first.value.reschedule_at == START + timedelta(seconds=3)
    # The next try, at the rescheduled time, pokes once more and times out.
    clock.advance(timedelta(seconds=3))
    with pytest.raises(SensorTimeout, match="after 3 s"):
        run_sensor(sensor, FakeTi(clock, wait_started_at=START, previous_pokes=1))


def test_reschedule_mode_keeps_its_interval_while_time_is_left() -> None:
    clock = FakeClock(START)
    sensor = NeverSensor(task_id="wait", timeout=150, poke_interval=60, mode="reschedule")
    clock.advance(timedelta(seconds=120))
    with pytest.raises(TaskRescheduled) as later:
        run_sensor(sensor, FakeTi(clock, wait_started_at=START, previous_pokes=2))
    assert later.value.reschedule_at == START + timedelta(seconds=150)  # not 180


def fetch() -> dict[str, float]:
    return {"1001": 301.27}


@pytest.mark.parametrize("serializer", ["pickle", "cloudpickle", "dill", None])
def test_the_python_environment_operators_accept_airflows_serializers(
    serializer: str | None,
) -> None:
    venv = PythonVirtualenvOperator(task_id="v", python_callable=fetch, serializer=serializer)
    external = ExternalPythonOperator(
        task_id="e", python="/usr/bin/python3", python_callable=fetch, serializer=serializer
    )
    assert venv.serializer == serializer
    assert external.serializer == serializer


def test_the_decorators_accept_a_serializer() -> None:
    with DAG("ser", start_date=START, schedule=None) as dag:

        @task.virtualenv(serializer="dill", system_site_packages=False, requirements=[])
        def extract() -> dict[str, float]:
            return {"1001": 301.27}

        @task.external_python(python="/usr/bin/python3", serializer="cloudpickle")
        def other() -> int:
            return 1

        extract()
        other()
    assert dag.get_task("extract").serializer == "dill"  # type: ignore[attr-defined]
    assert dag.get_task("other").serializer == "cloudpickle"  # type: ignore[attr-defined]


def test_an_unknown_serializer_is_refused_naming_the_task() -> None:
    with pytest.raises(DagDefinitionError, match=r"task 'v': serializer must be one of .*'json'"):
        PythonVirtualenvOperator(task_id="v", python_callable=fetch, serializer="json")


def test_use_dill_is_deprecated_and_means_dill() -> None:
    with pytest.warns(DeprecationWarning, match="serializer='dill'"):
        op = PythonVirtualenvOperator(task_id="v", python_callable=fetch, use_dill=True)
    assert op.serializer == "dill"


CONTEXT: dict[str, Any] = {"run_id": "manual__1", "params": {"other_param": "from_dag"}}


def templated_dag(folder: Path) -> DAG:
    (folder / "sql").mkdir()
    (folder / "sql" / "q.sql").write_text("select '{{ run_id }}'", encoding="utf-8")
    dag = DAG("tmpl", start_date=START, schedule=None, template_searchpath=str(folder))
    PythonOperator(task_id="t", python_callable=fetch, templates_exts=[".sql"], dag=dag)
    return dag


def test_render_template_renders_strings_collections_and_template_files(tmp_path: Path) -> None:
    op = templated_dag(tmp_path).get_task("t")
    text = "run_id: {{ run_id }}; params.other_param: {{ params.other_param }}"
    assert op.render_template(text, CONTEXT) == "run_id: manual__1; params.other_param: from_dag"
    assert op.render_template(["{{ run_id }}", {"k": ("{{ run_id }}",)}], CONTEXT) == [
        "manual__1",
        {"k": ("manual__1",)},
    ]
    assert op.render_template("sql/q.sql", CONTEXT) == "select 'manual__1'"
    assert op.render_template(42, CONTEXT) == 42


def test_render_template_takes_a_jinja_env_and_seen_oids(tmp_path: Path) -> None:
    import jinja2

    op = templated_dag(tmp_path).get_task("t")
    env = jinja2.Environment()
    env.globals["shout"] = str.upper
    assert op.render_template("{{ shout(run_id) }}", CONTEXT, jinja_env=env) == "MANUAL__1"
    seen = ["{{ run_id }}"]
    assert op.render_template(seen, CONTEXT, seen_oids={id(seen)}) is seen


def test_render_template_errors_name_the_task(tmp_path: Path) -> None:
    op = templated_dag(tmp_path).get_task("t")
    with pytest.raises(TemplateRenderError, match=r"task 't': render_template: .*'nope'"):
        op.render_template("{{ nope }}", CONTEXT)
    with pytest.raises(TemplateRenderError, match=r"task 't': render_template: .*'sql/x.sql'"):
        op.render_template("sql/x.sql", CONTEXT)


class MomentSensor(BaseSensorOperator):
    """Waits for a known moment, as the time sensors do, and says when it is."""

    def __init__(self, *, moment: datetime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.moment = moment

    def ready_at(self, context: dict[str, Any]) -> datetime | None:
        return self.moment

    def poke(self, context: dict[str, Any]) -> bool:
        return bool(context["ti"].now() > self.moment)


def test_a_sensor_waiting_for_a_known_moment_pokes_again_then_not_a_minute_later() -> None:
    clock = FakeClock(START)
    ti = FakeTi(clock)
    sensor = MomentSensor(task_id="wait", moment=START + timedelta(seconds=2))
    run_sensor(sensor, ti)
    assert ti.slept[0] == 2.0  # not the 60 s poke_interval
    assert sum(ti.slept) < 2.1  # then a moment more, as the moment itself is not past it
