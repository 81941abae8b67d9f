"""TriggerDagRunOperator under the scheduler: one DAG's task starts a run of another DAG,
through the same operation as ``headwater dags trigger``, and may wait for it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cross_dag_harness import cross_harness
from scheduler_harness import Harness, at


@pytest.fixture(params=["memory", "sqlite"])
def cross(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    yield from cross_harness(request.param, request, tmp_path, monkeypatch)


CHILD = """
from headwater import Param


with DAG("child", start_date=START, schedule=None,
         params={"size": Param(1, type="integer"), "day": Param("", type="string")}):
    @task
    def read(**context):
        return [context["params"]["size"], context["params"]["day"], context["dag_run"].run_type]

    read()
"""


def _parent(harness: Harness, operator_args: str) -> None:
    harness.write_dag("child", CHILD)
    harness.write_dag(
        "parent",
        f"""
        from headwater.operators import TriggerDagRunOperator

        with DAG("parent", start_date=START, schedule=None):
            TriggerDagRunOperator(task_id="kick", trigger_dag_id="child", {operator_args})
        """,
    )
    harness.process()


def _run_parent(harness: Harness) -> str:
    run = harness.trigger("parent")
    harness.run_until(harness.finished("parent", run.run_id))
    return run.run_id


def test_a_task_triggers_another_dag_with_conf_and_the_scheduler_runs_it(
    cross: Harness,
) -> None:
    _parent(
        cross, 'conf={"size": 3, "day": "{{ ds }}"}, trigger_run_id="from_parent_{{ ds_nodash }}"'
    )
    parent_run = _run_parent(cross)
    assert cross.states("parent", parent_run) == {"kick": "success"}

    (child,) = cross.runs("child")
    assert child.run_id == "from_parent_20240104"
    assert child.state.value == "queued"
    assert child.run_type == "manual"
    assert child.conf == {"size": 3, "day": "2024-01-04"}
    assert cross.xcom("parent", parent_run, "kick", "trigger_run_id") == child.run_id
    assert cross.xcom("parent", parent_run, "kick", "trigger_dag_id") == "child"
    assert [e.kind for e in cross.store.list_events(dag_id="child")] == ["trigger"]

    cross.run_until(cross.finished("child", child.run_id))
    assert cross.xcom("child", child.run_id, "read") == [3, "2024-01-04", "manual"]


def test_the_triggered_run_is_at_the_logical_date_given_or_now(cross: Harness) -> None:
    _parent(cross, 'logical_date="{{ data_interval_start }}"')
    _run_parent(cross)
    (child,) = cross.runs("child")
    assert child.logical_date == at(4, 0, 30)
    assert child.run_id == "manual__2024-01-04T00:30:00+00:00"


def test_a_conf_the_params_refuse_fails_the_task_naming_the_param(cross: Harness) -> None:
    _parent(cross, 'conf={"size": "big"}')
    parent_run = _run_parent(cross)
    assert cross.states("parent", parent_run) == {"kick": "failed"}
    (attempt,) = cross.attempts("parent", parent_run, "kick")
    assert "size" in (attempt.error or "")
    assert cross.runs("child") == []


def test_an_unknown_dag_fails_the_task_naming_it(cross: Harness) -> None:
    cross.write_dag(
        "parent",
        """
        from headwater.operators import TriggerDagRunOperator

        with DAG("parent", start_date=START, schedule=None):
            TriggerDagRunOperator(task_id="kick", trigger_dag_id="nowhere")
        """,
    )
    cross.process()
    parent_run = _run_parent(cross)
    (attempt,) = cross.attempts("parent", parent_run, "kick")
    assert "no DAG 'nowhere' in the database" in (attempt.error or "")


def test_a_taken_run_id_fails_or_skips_or_resets(cross: Harness) -> None:
    _parent(
        cross,
        'trigger_run_id="fixed", conf={"size": 1}, '
        "skip_when_already_exists=\"{{ dag_run.conf.get('skip', False) }}\", "
        "reset_dag_run=False",
    )
    first = _run_parent(cross)
    assert cross.states("parent", first) == {"kick": "success"}
    cross.run_until(cross.finished("child", "fixed"))

    cross.clock.advance(timedelta(minutes=1))
    failing = _run_parent(cross)
    (attempt,) = cross.attempts("parent", failing, "kick")
    assert cross.states("parent", failing) == {"kick": "failed"}
    assert "DAG 'child' already has a run 'fixed'" in (attempt.error or "")

    cross.clock.advance(timedelta(minutes=1))
    skipping = cross.trigger("parent", conf={"skip": True})
    cross.run_until(cross.finished("parent", skipping.run_id))
    assert cross.states("parent", skipping.run_id) == {"kick": "skipped"}
    assert [r.run_id for r in cross.runs("child")] == ["fixed"]


def test_reset_dag_run_clears_the_existing_run_so_it_runs_again(cross: Harness) -> None:
    _parent(cross, 'trigger_run_id="fixed", reset_dag_run=True')
    _run_parent(cross)
    cross.run_until(cross.finished("child", "fixed"))
    assert len(cross.attempts("child", "fixed", "read")) == 1

    cross.clock.advance(timedelta(minutes=1))
    second = _run_parent(cross)
    assert cross.states("parent", second) == {"kick": "success"}
    assert cross.run_state("child", "fixed") == "queued"
    assert cross.xcom("parent", second, "kick", "trigger_run_id") == "fixed"
    cross.run_until(cross.finished("child", "fixed"))
    assert [a.try_number for a in cross.attempts("child", "fixed", "read")] == [1, 2]
    assert [r.run_id for r in cross.runs("child")] == ["fixed"]


@pytest.mark.slow
def test_wait_for_completion_fails_when_the_triggered_run_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Real worker processes: the waiting task polls in one while the child runs in another."""
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "local")
    monkeypatch.setenv("HEADWATER__SCHEDULER__PARALLELISM", "2")
    harness = next(_local := cross_harness("sqlite", request, tmp_path, monkeypatch))
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "local")  # the helper sets in_process
    try:
        harness.write_dag(
            "child",
            """
            with DAG("child", start_date=START, schedule=None):
                BashOperator(task_id="boom", bash_command="exit 3")
            """,
        )
        harness.write_dag(
            "parent",
            """
            from headwater.operators import TriggerDagRunOperator

            with DAG("parent", start_date=START, schedule=None):
                TriggerDagRunOperator(task_id="kick", trigger_dag_id="child",
                                      trigger_run_id="waited", wait_for_completion=True,
                                      poke_interval=0.05)
            """,
        )
        harness.process()
        parent = harness.trigger("parent").run_id
        done = harness.finished("parent", parent)
        for _ in range(2000):  # short waits: the child's run is found by the next pass
            if done():
                break
            harness.step(wait_s=0.02)
        assert harness.run_state("child", "waited") == "failed"
        assert harness.states("parent", parent) == {"kick": "failed"}
        (attempt,) = harness.attempts("parent", parent, "kick")
        assert (
            attempt.error
            == "TriggeredRunFailed: run 'waited' of DAG 'child' ended failed (failed_states: failed)"
        )
    finally:
        next(_local, None)
