"""``depends_on_past`` and ``wait_for_downstream`` under the real scheduler (SQLite and
PostgreSQL, in-process executor, fake clock): the DAG is rebuilt from its serialized form,
so the flags travel with the stored DAG. A catching-up DAG gets three runs; the first
one's instance fails, the next runs wait on it (their instances say why) until a person
marks it success, and then they start one after the other, each on a later pass."""

from __future__ import annotations

from scheduler_harness import Harness

from headwater.operations.marking import mark_task_instances

DAG_BODY = """
def work(**context):
    if context["ds"] == "2024-01-01":
        raise RuntimeError("the first day fails")

with DAG("past", start_date=START, schedule="@daily", catchup=True,
         default_args={"depends_on_past": False}):
    EmptyOperator(task_id="free")
    PythonOperator(task_id="work", python_callable=work, depends_on_past=True)
"""


def _by_date(harness: Harness, dag_id: str) -> list[str]:
    return [r.run_id for r in sorted(harness.runs(dag_id), key=lambda r: r.logical_date)]


def test_runs_wait_for_the_previous_runs_instance_and_start_in_order(harness: Harness) -> None:
    harness.write_dag("past", DAG_BODY)
    harness.process()
    harness.run_until(
        lambda: (
            len(harness.runs("past")) == 3
            and harness.finished("past", _by_date(harness, "past")[0])()
        )
    )
    first, second, third = _by_date(harness, "past")
    for _ in range(3):  # more passes change nothing: they wait, without attempts
        harness.step()
    assert harness.states("past", first) == {"free": "success", "work": "failed"}
    assert harness.run_state("past", first) == "failed"
    for run_id in (second, third):
        assert harness.states("past", run_id) == {"free": "success", "work": "none"}
        assert harness.attempts("past", run_id, "work") == []
    assert harness.tis("past", second)["work"].error == (
        f"waiting for the previous run's instance of 'work' (run {first!r}, state failed)"
    )
    assert harness.tis("past", third)["work"].error == (
        f"waiting for the previous run's instance of 'work' (run {second!r}, state none)"
    )

    mark_task_instances(harness.store, "past", first, ["work"], "success", now=harness.clock.now())
    harness.step()  # the second run's instance goes; the third sees it not done yet
    assert harness.states("past", second)["work"] == "success"
    assert harness.tis("past", second)["work"].error is None
    assert harness.states("past", third)["work"] == "none"
    harness.run_until(harness.finished("past", third))
    assert harness.states("past", third) == {"free": "success", "work": "success"}
    assert harness.run_state("past", second) == "success"
    second_start = harness.attempts("past", second, "work")[0].start_date
    third_start = harness.attempts("past", third, "work")[0].start_date
    assert second_start <= third_start


WAIT_BODY = """
def load(**context):
    if context["ds"] == "2024-01-01":
        raise RuntimeError("the first load fails")

with DAG("downstream", start_date=START, schedule="@daily", catchup=True, max_active_runs=2):
    extract = EmptyOperator(task_id="extract", wait_for_downstream=True)
    extract >> PythonOperator(task_id="load", python_callable=load)
"""


def test_wait_for_downstream_holds_the_next_run_until_the_previous_downstream_ends(
    harness: Harness,
) -> None:
    harness.write_dag("downstream", WAIT_BODY)
    harness.process()
    harness.run_until(
        lambda: (
            len(harness.runs("downstream")) == 2
            and harness.finished("downstream", _by_date(harness, "downstream")[0])()
        )
    )
    first, second = _by_date(harness, "downstream")
    harness.step()
    assert harness.states("downstream", first) == {"extract": "success", "load": "failed"}
    assert harness.states("downstream", second) == {"extract": "none", "load": "none"}
    error = harness.tis("downstream", second)["extract"].error or ""
    assert "'load', downstream of 'extract'" in error and "state failed" in error
    mark_task_instances(
        harness.store, "downstream", first, ["load"], "success", now=harness.clock.now()
    )
    harness.run_until(harness.finished("downstream", second))
    assert harness.states("downstream", second) == {"extract": "success", "load": "success"}
