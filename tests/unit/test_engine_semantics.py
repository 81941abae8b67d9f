"""Engine semantics matched to Airflow: empty branches, dagrun_timeout while a retry waits,
and the trigger rules (``one_done`` and ``upstream_failed`` in particular)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from headwater import DAG, TaskSkipped, task
from headwater.authoring.task_group import TaskGroup
from headwater.authoring.trigger_rule import TriggerRule
from headwater.engine.states import TaskInstanceState as S
from headwater.engine.trigger_rules import Decision, UpstreamCounts, decide
from headwater.operators import (
    BranchPythonOperator,
    EmptyOperator,
    PythonOperator,
    ShortCircuitOperator,
)
from headwater.testing import FakeClock, run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)


def _fail() -> None:
    raise RuntimeError("planned failure")


def _skip() -> None:
    raise TaskSkipped("planned skip")


# -- 1. a branch does not skip a task that is also downstream of a chosen task ---------------


def diamond(join_rule: str) -> DAG:
    """branch >> [process, join]; process >> join (Airflow's "empty branch" shape)."""
    with DAG("diamond", start_date=START, params={"full": False}) as dag:
        branch = BranchPythonOperator(
            task_id="branch",
            python_callable=lambda params: "process" if params["full"] else "join",
        )
        process = EmptyOperator(task_id="process")
        join = EmptyOperator(task_id="join", trigger_rule=join_rule)
        branch >> [process, join]
        process >> join
    return dag


@pytest.mark.parametrize("join_rule", ["none_failed_min_one_success", "all_success"])
def test_choosing_the_long_path_keeps_the_join_that_is_downstream_of_it(join_rule: str) -> None:
    result = run_dag(diamond(join_rule), conf={"full": True})
    assert result.task_states == {"branch": "success", "process": "success", "join": "success"}
    assert result.state == "success"


def test_choosing_the_join_directly_skips_the_long_path() -> None:
    result = run_dag(diamond("none_failed_min_one_success"), conf={"full": False})
    assert result.task_states == {"branch": "success", "process": "skipped", "join": "success"}
    assert result.state == "success"


def test_choosing_the_join_directly_under_all_success_skips_it_after_the_skipped_path() -> None:
    # join is chosen, so the branch does not skip it; its skipped upstream then does (Airflow).
    result = run_dag(diamond("all_success"), conf={"full": False})
    assert result.task_states == {"branch": "success", "process": "skipped", "join": "skipped"}


def test_a_task_downstream_of_a_chosen_task_further_away_is_not_skipped() -> None:
    with DAG("deep", start_date=START) as dag:
        branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "a")
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        other = EmptyOperator(task_id="other")
        join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
        branch >> [a, other, join]
        a >> b >> join
        other >> join
    result = run_dag(dag)
    assert result.task_states == {
        "branch": "success",
        "a": "success",
        "b": "success",
        "other": "skipped",
        "join": "success",
    }


def test_branching_into_a_group_keeps_a_join_downstream_of_the_group() -> None:
    with DAG("group_diamond", start_date=START) as dag:
        branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "work")
        with TaskGroup("work") as work:
            first = EmptyOperator(task_id="first")
            first >> EmptyOperator(task_id="second")
        other = EmptyOperator(task_id="other")
        join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
        branch >> [work, other, join]
        work >> join
        other >> join
    result = run_dag(dag)
    assert result.task_states == {
        "branch": "success",
        "work.first": "success",
        "work.second": "success",
        "other": "skipped",
        "join": "success",
    }


def test_branching_to_a_task_keeps_a_group_downstream_of_it() -> None:
    with DAG("to_group", start_date=START) as dag:

        @task.branch
        def choose() -> str:
            return "prepare"

        prepare = EmptyOperator(task_id="prepare")
        with TaskGroup("report") as report:
            EmptyOperator(task_id="build")
        other = EmptyOperator(task_id="other")
        branch = choose()
        branch >> [prepare, report, other]
        prepare >> report
    result = run_dag(dag)
    assert result.task_states == {
        "choose": "success",
        "prepare": "success",
        "report.build": "success",
        "other": "skipped",
    }


@pytest.mark.parametrize("ignore_rules", [True, False])
def test_short_circuit_still_skips_a_join_downstream_of_its_direct_tasks(
    ignore_rules: bool,
) -> None:
    # The empty-branch rule applies to branches only: a short circuit skips its direct
    # downstream tasks (False) or all its descendants (True), joins included.
    with DAG("gate_diamond", start_date=START) as dag:
        gate = ShortCircuitOperator(
            task_id="gate",
            python_callable=lambda: False,
            ignore_downstream_trigger_rules=ignore_rules,
        )
        a = EmptyOperator(task_id="a")
        join = EmptyOperator(task_id="join", trigger_rule="all_done")
        gate >> [a, join]
        a >> join
    result = run_dag(dag)
    assert result.task_states == {"gate": "success", "a": "skipped", "join": "skipped"}


def test_short_circuit_without_ignoring_rules_lets_indirect_tasks_follow_their_rule() -> None:
    with DAG("gate_chain", start_date=START) as dag:
        gate = ShortCircuitOperator(
            task_id="gate", python_callable=lambda: False, ignore_downstream_trigger_rules=False
        )
        a = EmptyOperator(task_id="a")
        after = EmptyOperator(task_id="after", trigger_rule="all_done")
        gate >> a >> after
    result = run_dag(dag)
    assert result.task_states == {"gate": "success", "a": "skipped", "after": "success"}


# -- 2. dagrun_timeout is enforced while the run only waits for a retry ----------------------


def test_dagrun_timeout_ends_a_run_that_only_waits_for_a_retry() -> None:
    clock = FakeClock(START)
    with DAG("waits", start_date=START, dagrun_timeout=timedelta(seconds=5)) as dag:
        flaky = PythonOperator(
            task_id="flaky", python_callable=_fail, retries=3, retry_delay=timedelta(minutes=10)
        )
        after = EmptyOperator(task_id="after")
        flaky >> after
    result = run_dag(dag, clock=clock)
    assert result.state == "failed"
    assert sum(clock.slept) == pytest.approx(5.0, abs=0.01)
    assert "dagrun_timeout" in (result.run.note or "")
    # As the engine ends every unfinished instance on a timeout: skipped, with the reason.
    assert result.task_states == {"flaky": "skipped", "after": "skipped"}
    assert result.ti("flaky").try_number == 1
    assert "dagrun_timeout" in (result.ti("flaky").error or "")
    assert result.ti("flaky").next_retry_at is None


def test_a_retry_due_before_the_deadline_still_runs() -> None:
    clock = FakeClock(START)
    calls = {"n": 0}

    def fails_once() -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("first try fails")

    with DAG("retry_in_time", start_date=START, dagrun_timeout=timedelta(minutes=10)) as dag:
        PythonOperator(
            task_id="flaky", python_callable=fails_once, retries=1, retry_delay=timedelta(minutes=1)
        )
    result = run_dag(dag, clock=clock)
    assert result.state == "success"
    assert result.task_states == {"flaky": "success"}
    assert sum(clock.slept) == pytest.approx(60.0)


# -- 3. trigger rules: one_done, and Airflow's trigger_rule_dep for all of them ---------------


def test_one_done_after_only_upstream_failed_tasks_is_skipped() -> None:
    with DAG("one_done_uf", start_date=START) as dag:
        broken = PythonOperator(task_id="broken", python_callable=_fail)
        mid1, mid2 = EmptyOperator(task_id="mid1"), EmptyOperator(task_id="mid2")
        target = EmptyOperator(task_id="target", trigger_rule="one_done")
        broken >> [mid1, mid2] >> target
    result = run_dag(dag)
    assert result.task_states == {
        "broken": "failed",
        "mid1": "upstream_failed",
        "mid2": "upstream_failed",
        "target": "skipped",
    }


def test_one_done_after_skipped_and_upstream_failed_tasks_is_skipped() -> None:
    with DAG("one_done_mixed", start_date=START) as dag:
        broken = PythonOperator(task_id="broken", python_callable=_fail)
        mid = EmptyOperator(task_id="mid")
        skipper = PythonOperator(task_id="skipper", python_callable=_skip)
        target = EmptyOperator(task_id="target", trigger_rule="one_done")
        broken >> mid >> target
        skipper >> target
    result = run_dag(dag)
    assert result.state_of("mid") == "upstream_failed"
    assert result.state_of("target") == "skipped"


def test_one_done_runs_when_one_upstream_really_failed() -> None:
    with DAG("one_done_failed", start_date=START) as dag:
        broken = PythonOperator(task_id="broken", python_callable=_fail)
        mid = EmptyOperator(task_id="mid")
        other = PythonOperator(task_id="other", python_callable=_fail)
        target = EmptyOperator(task_id="target", trigger_rule="one_done")
        broken >> mid >> target
        other >> target
    result = run_dag(dag)
    assert result.state_of("mid") == "upstream_failed"
    assert result.state_of("target") == "success"


def test_one_failed_counts_upstream_failed_as_airflow_does() -> None:
    with DAG("one_failed_uf", start_date=START) as dag:
        broken = PythonOperator(task_id="broken", python_callable=_fail)
        mid = EmptyOperator(task_id="mid")
        alert = EmptyOperator(task_id="alert", trigger_rule="one_failed")
        broken >> mid >> alert
    result = run_dag(dag)
    assert result.state_of("mid") == "upstream_failed"
    assert result.state_of("alert") == "success"


def airflow_decision(rule: TriggerRule, states: list[S]) -> Decision:
    """Airflow's TriggerRuleDep (the scheduler's pass, ``flag_upstream_failed=True``) for
    upstream instances in ``states`` (no removed ones): the state it sets, else pass or wait."""
    success = states.count(S.SUCCESS)
    skipped = states.count(S.SKIPPED)
    failed = states.count(S.FAILED)
    upstream_failed = states.count(S.UPSTREAM_FAILED)
    upstream = len(states)
    done = success + skipped + failed + upstream_failed
    upstream_done = done >= upstream
    new: Decision | None = None
    passed: bool
    if rule is TriggerRule.ALL_SUCCESS:
        if failed or upstream_failed:
            new = Decision.UPSTREAM_FAILED
        elif skipped:
            new = Decision.SKIP
        passed = upstream - success == 0
    elif rule is TriggerRule.ALL_FAILED:
        if success or skipped:
            new = Decision.SKIP
        passed = upstream - failed - upstream_failed == 0
    elif rule is TriggerRule.ALL_DONE:
        passed = upstream_done
    elif rule is TriggerRule.ALL_SKIPPED:
        if success or failed or upstream_failed:
            new = Decision.SKIP
        passed = upstream - skipped == 0
    elif rule is TriggerRule.ONE_SUCCESS:
        if upstream_done and done == skipped:
            new = Decision.SKIP
        elif upstream_done and success <= 0:
            new = Decision.UPSTREAM_FAILED
        passed = success > 0
    elif rule is TriggerRule.ONE_FAILED:
        if upstream_done and not (failed or upstream_failed):
            new = Decision.SKIP
        passed = bool(failed or upstream_failed)
    elif rule is TriggerRule.ONE_DONE:
        if upstream_done and not (failed or success):
            new = Decision.SKIP
        passed = success + failed > 0
    elif rule is TriggerRule.NONE_FAILED:
        if failed or upstream_failed:
            new = Decision.UPSTREAM_FAILED
        passed = upstream - success - skipped == 0
    elif rule is TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS:
        if failed or upstream_failed:
            new = Decision.UPSTREAM_FAILED
        elif skipped == upstream:
            new = Decision.SKIP
        passed = upstream - success - skipped == 0
    elif rule is TriggerRule.NONE_SKIPPED:
        if skipped:
            new = Decision.SKIP
        passed = upstream_done and skipped == 0
    elif rule is TriggerRule.ALL_DONE_SETUP_SUCCESS:
        passed = upstream_done  # no setup among these upstreams: see test_setup_teardown.py
    else:
        assert rule is TriggerRule.ALWAYS
        passed = True
    if new is not None:
        return new
    return Decision.RUN if passed else Decision.WAIT


UPSTREAM_STATES = [S.RUNNING, S.SUCCESS, S.SKIPPED, S.FAILED, S.UPSTREAM_FAILED]


@pytest.mark.parametrize("rule", list(TriggerRule))
def test_every_rule_decides_as_airflows_trigger_rule_dep(rule: TriggerRule) -> None:
    for size in (1, 2, 3):
        for states in itertools.combinations_with_replacement(UPSTREAM_STATES, size):
            counts = UpstreamCounts.of({s: list(states).count(s) for s in set(states)})
            expected = airflow_decision(rule, list(states))
            assert decide(rule, counts) is expected, (rule, states)


def test_one_done_unit_decisions() -> None:
    def one_done(**states: int) -> Decision:
        return decide(TriggerRule.ONE_DONE, UpstreamCounts.of({S(k): v for k, v in states.items()}))

    assert one_done(upstream_failed=2) is Decision.SKIP
    assert one_done(upstream_failed=1, skipped=1) is Decision.SKIP
    assert one_done(upstream_failed=1, running=1) is Decision.WAIT
    assert one_done(upstream_failed=1, failed=1) is Decision.RUN
    assert one_done(upstream_failed=1, success=1) is Decision.RUN
    assert one_done(failed=1, running=1) is Decision.RUN
