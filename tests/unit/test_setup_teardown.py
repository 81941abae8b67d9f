"""Setup and teardown tasks with Airflow's rules: the teardown runs when the work fails, the
run's state ignores it (unless ``on_failure_fail_dagrun``), setups that fail or are skipped
stop their scope, the ``with`` block wires the work in between, and the flags survive
serialization."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater import DAG, TaskSkipped, setup, task, teardown
from headwater.authoring.setup_teardown import (
    effective_leaves,
    relevant_setups_and_teardowns,
    setups_and_teardowns_to_clear,
)
from headwater.authoring.trigger_rule import TriggerRule
from headwater.dag_processing.serialized_dag import deserialize_dag, serialize_dag
from headwater.engine.trigger_rules import Decision, UpstreamCounts, decide
from headwater.exceptions import DagDefinitionError
from headwater.operators import EmptyOperator, PythonOperator, ShortCircuitOperator
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)


def _fail() -> None:
    raise RuntimeError("planned failure")


def _skip() -> None:
    raise TaskSkipped("planned skip")


def _ok() -> str:
    return "ok"


def pipeline(
    *,
    setup_fn: object = _ok,
    work_fn: object = _ok,
    teardown_fn: object = _ok,
    fail_run: bool = False,
) -> DAG:
    """create (setup) >> work >> delete (teardown of create)."""
    with DAG("st", start_date=START) as dag:
        create = PythonOperator(task_id="create", python_callable=setup_fn).as_setup()  # type: ignore[arg-type]
        work = PythonOperator(task_id="work", python_callable=work_fn)  # type: ignore[arg-type]
        delete = PythonOperator(task_id="delete", python_callable=teardown_fn)  # type: ignore[arg-type]
        delete.as_teardown(setups=create, on_failure_fail_dagrun=fail_run)
        create >> work >> delete
    return dag


def test_the_teardown_runs_after_the_work_and_the_run_succeeds() -> None:
    result = run_dag(pipeline())
    assert result.task_states == {"create": "success", "work": "success", "delete": "success"}
    order = [ti.task_id for ti in result.task_instances]
    assert order == ["create", "work", "delete"]
    assert result.state == "success"


def test_the_teardown_runs_when_the_work_fails_and_the_run_fails_with_the_work() -> None:
    result = run_dag(pipeline(work_fn=_fail))
    assert result.task_states == {"create": "success", "work": "failed", "delete": "success"}
    assert result.state == "failed"


def test_a_failed_teardown_does_not_fail_the_run() -> None:
    result = run_dag(pipeline(teardown_fn=_fail))
    assert result.task_states == {"create": "success", "work": "success", "delete": "failed"}
    assert result.state == "success"


def test_a_failed_teardown_fails_the_run_with_on_failure_fail_dagrun() -> None:
    result = run_dag(pipeline(teardown_fn=_fail, fail_run=True))
    assert result.task_states["delete"] == "failed"
    assert result.state == "failed"


def test_a_failed_setup_stops_the_work_and_its_teardown() -> None:
    result = run_dag(pipeline(setup_fn=_fail))
    assert result.task_states == {
        "create": "failed",
        "work": "upstream_failed",
        "delete": "upstream_failed",
    }
    assert result.state == "failed"


def test_a_skipped_setup_skips_its_teardown() -> None:
    result = run_dag(pipeline(setup_fn=_skip))
    assert result.task_states == {"create": "skipped", "work": "skipped", "delete": "skipped"}
    assert result.state == "success"


def test_one_successful_setup_of_two_is_enough_for_the_teardown() -> None:
    with DAG("two", start_date=START) as dag:
        a = PythonOperator(task_id="a", python_callable=_ok)
        b = PythonOperator(task_id="b", python_callable=_fail)
        done = PythonOperator(task_id="done", python_callable=_ok).as_teardown(setups=[a, b])
    assert a.is_setup and b.is_setup and done.upstream_task_ids == {"a", "b"}
    result = run_dag(dag)
    assert result.task_states == {"a": "success", "b": "failed", "done": "success"}
    assert result.state == "failed"  # b is a leaf besides the teardown


def test_the_teardown_rule_as_a_table() -> None:
    def counts(
        success: int, skipped: int, failed: int, setups: tuple[int, int, int]
    ) -> UpstreamCounts:
        n = success + skipped + failed
        return UpstreamCounts(n, success, skipped, failed, 0, n, *setups)

    rule = TriggerRule.ALL_DONE_SETUP_SUCCESS
    assert decide(rule, counts(1, 0, 1, (1, 1, 0))) is Decision.RUN  # work failed, setup ok
    assert decide(rule, counts(0, 0, 2, (1, 0, 0))) is Decision.UPSTREAM_FAILED
    assert decide(rule, counts(0, 2, 0, (1, 0, 1))) is Decision.SKIP
    assert decide(rule, counts(0, 0, 1, (0, 0, 0))) is Decision.RUN  # no setup upstream
    waiting = UpstreamCounts(2, 1, 0, 0, 0, 1, 1, 1, 0)
    assert decide(rule, waiting) is Decision.WAIT


def test_a_work_task_in_a_failed_setups_scope_does_not_run_even_if_its_rule_allows() -> None:
    with DAG("indirect", start_date=START) as dag:
        create = PythonOperator(task_id="create", python_callable=_fail).as_setup()
        first = EmptyOperator(task_id="first")
        # second is in create's scope (create's teardown is below it), not right after it.
        second = EmptyOperator(task_id="second", trigger_rule="all_done")
        other = EmptyOperator(task_id="other")
        delete = EmptyOperator(task_id="delete").as_teardown(setups=create)
        create >> first >> second >> delete
        other >> second
    assert {t.task_id for t in relevant_setups_and_teardowns(second)} == {"create", "delete"}
    assert relevant_setups_and_teardowns(other) == []
    result = run_dag(dag)
    assert result.task_states == {
        "create": "failed",
        "first": "upstream_failed",
        "second": "upstream_failed",  # all_done alone would have run it
        "other": "success",
        "delete": "upstream_failed",
    }


def test_a_task_right_after_a_setup_must_use_all_success() -> None:
    with DAG("rule", start_date=START) as dag:
        create = EmptyOperator(task_id="create").as_setup()
        create >> EmptyOperator(task_id="work", trigger_rule="all_done")
    with pytest.raises(DagDefinitionError, match="'work' follows setup task 'create' with"):
        dag.validate()


def test_a_short_circuit_skips_the_work_but_not_the_teardown() -> None:
    with DAG("short", start_date=START) as dag:
        create = EmptyOperator(task_id="create").as_setup()
        check = ShortCircuitOperator(task_id="check", python_callable=lambda: False)
        work = EmptyOperator(task_id="work")
        delete = EmptyOperator(task_id="delete").as_teardown(setups=create)
        create >> check >> work >> delete
    result = run_dag(dag)
    assert result.task_states == {
        "create": "success",
        "check": "success",
        "work": "skipped",
        "delete": "success",
    }


def test_leaves_leave_teardowns_out() -> None:
    dag = pipeline()
    assert [t.task_id for t in effective_leaves(dag)] == ["work"]
    assert [t.task_id for t in effective_leaves(pipeline(fail_run=True))] == ["delete"]


def test_clearing_a_work_task_takes_its_setup_and_teardown() -> None:
    dag = pipeline()
    assert setups_and_teardowns_to_clear(dag, ["work"]) == {"create", "delete"}
    assert setups_and_teardowns_to_clear(dag, ["create"]) == {"delete"}
    assert setups_and_teardowns_to_clear(dag, ["delete"]) == set()


def test_the_with_block_puts_the_work_between_setup_and_teardown() -> None:
    with DAG("block", start_date=START) as dag:

        @setup
        def create_cluster() -> str:
            return "cluster-1"

        @teardown
        def delete_cluster() -> None:
            return None

        @task
        def train() -> int:
            return 1

        @task
        def evaluate(model: int) -> int:
            return model + 1

        with create_cluster() >> delete_cluster():
            evaluate(train())
        outside = EmptyOperator(task_id="outside")

    relatives = {t: sorted(dag.task_dict[t].downstream_task_ids) for t in dag.task_dict}
    assert relatives == {
        "create_cluster": ["delete_cluster", "train"],
        "delete_cluster": [],
        "train": ["evaluate"],
        "evaluate": ["delete_cluster"],
        "outside": [],
    }
    assert dag.task_dict["delete_cluster"].trigger_rule is TriggerRule.ALL_DONE_SETUP_SUCCESS
    assert outside.upstream_task_ids == set()
    result = run_dag(dag)
    assert result.state == "success" and result.xcom("evaluate") == 2


def test_operators_in_a_with_block_of_a_teardown() -> None:
    with DAG("ops", start_date=START) as dag:
        create = EmptyOperator(task_id="create").as_setup()
        delete = EmptyOperator(task_id="delete").as_teardown(setups=create)
        with delete:
            EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    assert dag.task_dict["a"].upstream_task_ids == {"create"}
    assert dag.task_dict["b"].downstream_task_ids == {"delete"}


def test_teardown_decorator_options_and_bad_uses() -> None:
    with DAG("bad", start_date=START):

        @teardown(on_failure_fail_dagrun=True)
        def cleanup() -> None:
            return None

        ref = cleanup()
        assert ref.operator.is_teardown and ref.operator.on_failure_fail_dagrun
        plain = EmptyOperator(task_id="plain")
        with pytest.raises(DagDefinitionError, match="only a setup or teardown task opens"):
            plain.__enter__()
        with pytest.raises(
            DagDefinitionError, match="is a teardown task; it cannot also be a setup"
        ):
            ref.operator.as_setup()
        made = EmptyOperator(task_id="made").as_setup()
        with pytest.raises(
            DagDefinitionError, match="is a setup task; it cannot also be a teardown"
        ):
            made.as_teardown()


def test_setup_and_teardown_survive_serialization() -> None:
    dag = pipeline(fail_run=True)
    data = serialize_dag(dag)
    tasks = {t["task_id"]: t for t in data["dag"]["tasks"]}
    assert tasks["create"]["is_setup"] is True
    assert tasks["delete"]["is_teardown"] is True and tasks["delete"]["on_failure_fail_dagrun"]
    assert "is_setup" not in tasks["work"]  # left out when unset: older DAGs hash the same
    back = deserialize_dag(data)
    assert back.task_dict["create"].is_setup
    assert back.task_dict["delete"].is_teardown and back.task_dict["delete"].on_failure_fail_dagrun
    assert back.task_dict["delete"].trigger_rule is TriggerRule.ALL_DONE_SETUP_SUCCESS
    assert not back.task_dict["work"].is_setup


def test_a_scoped_task_whose_upstreams_end_first_still_waits_for_its_setup() -> None:
    # skip_first is skipped by the short circuit while create still runs; work (all_done)
    # may not run before create ends, and runs once it succeeded.
    with DAG("late", start_date=START) as dag:
        create = EmptyOperator(task_id="create", priority_weight=1).as_setup()
        gate = ShortCircuitOperator(
            task_id="gate",
            python_callable=lambda: False,
            ignore_downstream_trigger_rules=False,
            priority_weight=10,
        )
        first = EmptyOperator(task_id="first")
        work = EmptyOperator(task_id="work", trigger_rule="all_done")
        delete = EmptyOperator(task_id="delete").as_teardown(setups=create)
        create >> first >> work >> delete
        gate >> first
    result = run_dag(dag)
    order = [ti.task_id for ti in result.task_instances if ti.start_date is not None]
    assert order.index("create") < order.index("work")
    assert result.task_states == {
        "create": "success",
        "gate": "success",
        "first": "skipped",
        "work": "success",
        "delete": "success",
    }
