"""The reads of earlier runs behind ``depends_on_past`` (:class:`PastRunStore`): the memory
and SQL stores (SQLite, PostgreSQL) answer alike: which run is the previous one (latest
logical date before, ties by run id, run types left out), the states of only the tasks
asked about, and which tasks had instances in earlier runs."""

from __future__ import annotations

from datetime import timedelta

from db_records import T0, make_run, make_ti
from headwater.engine.ports import PastInstances
from headwater.engine.states import TaskInstanceState
from headwater.store.ports import Store

S = TaskInstanceState


def _seed(store: Store) -> None:
    runs = [
        (make_run(run_id="s0", day=0, run_type="scheduled"), {"a": [S.SUCCESS], "b": [S.FAILED]}),
        (make_run(run_id="m1", day=1, run_type="manual"), {"a": [S.FAILED]}),
        (
            make_run(run_id="s2", day=2, run_type="scheduled"),
            {"a": [S.RUNNING], "m": [S.SUCCESS, S.SKIPPED, S.FAILED]},
        ),
        (make_run(run_id="s3", day=3, run_type="scheduled"), {"a": [S.NONE]}),
    ]
    for run, states in runs:
        tis = [
            make_ti(task_id, run, index if len(values) > 1 else -1, state=state)
            for task_id, values in states.items()
            for index, state in enumerate(values)
        ]
        store.create_dag_run(run, tis)
    store.create_dag_run(make_run(dag_id="other", run_id="o", day=2), [])


def test_the_previous_run_and_the_states_of_the_tasks_asked_about(any_store: Store) -> None:
    _seed(any_store)
    day3 = T0 + timedelta(days=3)
    assert any_store.get_previous_run_states("etl", day3, ["a", "m", "zzz"]) == PastInstances(
        "s2", T0 + timedelta(days=2), {"a": (S.RUNNING,), "m": (S.SUCCESS, S.SKIPPED, S.FAILED)}
    )
    only_a = any_store.get_previous_run_states("etl", day3, ["a"])
    assert only_a is not None and dict(only_a.states) == {"a": (S.RUNNING,)}
    nothing = any_store.get_previous_run_states("etl", day3, [])
    assert nothing is not None and (nothing.run_id, dict(nothing.states)) == ("s2", {})


def test_run_types_left_out_and_the_first_run(any_store: Store) -> None:
    _seed(any_store)
    day2 = T0 + timedelta(days=2)
    previous = any_store.get_previous_run_states("etl", day2, ["a"])
    assert previous is not None and previous.run_id == "m1"
    scheduled = any_store.get_previous_run_states("etl", day2, ["a"], skip_run_types=["manual"])
    assert scheduled is not None and scheduled.run_id == "s0"
    assert dict(scheduled.states) == {"a": (S.SUCCESS,)}
    assert any_store.get_previous_run_states("etl", T0, ["a"]) is None
    assert any_store.get_previous_run_states("nothing", day2, ["a"]) is None


def test_a_tie_on_the_logical_date_takes_the_greatest_run_id(any_store: Store) -> None:
    for run_id in ("x", "y"):
        run = make_run(run_id=run_id, day=0)
        any_store.create_dag_run(run, [make_ti("a", run, state=S.SUCCESS)])
    previous = any_store.get_previous_run_states("etl", T0 + timedelta(days=1), ["a"])
    assert previous is not None and previous.run_id == "y"


def test_which_tasks_had_instances_in_earlier_runs(any_store: Store) -> None:
    _seed(any_store)
    day2 = T0 + timedelta(days=2)
    assert any_store.tasks_with_earlier_instances("etl", day2, ["a", "b", "m"]) == {"a", "b"}
    assert any_store.tasks_with_earlier_instances("etl", T0, ["a"]) == set()
    assert any_store.tasks_with_earlier_instances("etl", day2, []) == set()
    assert any_store.tasks_with_earlier_instances("other", day2 + timedelta(1), ["a"]) == set()
