"""The transition table (engine/transitions.py): which state changes are legal, that the
engine refuses the others naming the instance, both states and the rule, that each engine
path names the rule the table gives it, and that docs/architecture.md shows the same table."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from headwater import DAG, task
from headwater.clock import FakeClock
from headwater.dag_test import InProcessRun
from headwater.engine import transitions
from headwater.engine.dagrun import DagRunEngine
from headwater.engine.run_factory import new_dag_run
from headwater.engine.states import FINISHED_STATES, DagRunState
from headwater.engine.transitions import TaskInstanceState as S
from headwater.exceptions import IllegalTransitionError
from headwater.operators import (
    BranchPythonOperator,
    EmptyOperator,
    PythonOperator,
    ShortCircuitOperator,
)
from headwater.settings import Settings
from headwater.testing import run_dag, run_task

R = DagRunState
START = datetime(2024, 1, 1, tzinfo=UTC)
DOCS = Path(__file__).parents[2] / "docs" / "architecture.md"

LEGAL_TASK_INSTANCE_PAIRS = {
    # an instance's life
    (S.NONE, S.SCHEDULED),
    (S.NONE, S.SKIPPED),
    (S.NONE, S.UPSTREAM_FAILED),
    (S.NONE, S.FAILED),  # a mapped placeholder whose input is not a list or dict
    (S.UP_FOR_RETRY, S.SCHEDULED),
    (S.SCHEDULED, S.QUEUED),
    (S.SCHEDULED, S.RUNNING),
    (S.QUEUED, S.RUNNING),
    (S.RUNNING, S.SUCCESS),
    (S.RUNNING, S.SKIPPED),
    (S.RUNNING, S.FAILED),
    (S.RUNNING, S.UP_FOR_RETRY),
    # sensors in reschedule mode and deferral free the worker slot while they wait
    (S.RUNNING, S.UP_FOR_RESCHEDULE),
    (S.UP_FOR_RESCHEDULE, S.SCHEDULED),
    (S.RUNNING, S.DEFERRED),
    (S.DEFERRED, S.SCHEDULED),
    # a lost attempt runs again
    (S.QUEUED, S.SCHEDULED),
    (S.RUNNING, S.SCHEDULED),
    # the run timed out
    (S.SCHEDULED, S.SKIPPED),
    (S.QUEUED, S.SKIPPED),
    (S.RUNNING, S.SKIPPED),
    (S.UP_FOR_RETRY, S.SKIPPED),
    (S.UP_FOR_RESCHEDULE, S.SKIPPED),
    (S.DEFERRED, S.SKIPPED),
    # its task left the DAG, or came back
    *{(state, S.REMOVED) for state in S if state is not S.REMOVED},
    (S.REMOVED, S.NONE),
    # people clear
    (S.SCHEDULED, S.NONE),
    (S.UP_FOR_RETRY, S.NONE),
    (S.UP_FOR_RESCHEDULE, S.NONE),
    (S.DEFERRED, S.NONE),
    (S.SUCCESS, S.NONE),
    (S.FAILED, S.NONE),
    (S.SKIPPED, S.NONE),
    (S.UPSTREAM_FAILED, S.NONE),
    # people mark success or failed
    *{
        (state, target)
        for state in (
            S.NONE,
            S.SCHEDULED,
            S.UP_FOR_RETRY,
            S.UP_FOR_RESCHEDULE,
            S.DEFERRED,
            *FINISHED_STATES - {S.REMOVED},
        )
        for target in (S.SUCCESS, S.FAILED)
        if state is not target
    },
}

LEGAL_RUN_PAIRS = {
    (R.QUEUED, R.RUNNING),
    (R.RUNNING, R.SUCCESS),
    (R.RUNNING, R.FAILED),
    (R.QUEUED, R.FAILED),
    (R.SUCCESS, R.FAILED),
    (R.FAILED, R.SUCCESS),
    (R.RUNNING, R.QUEUED),
    (R.SUCCESS, R.QUEUED),
    (R.FAILED, R.QUEUED),
}


# -- the table ------------------------------------------------------------------------------


def test_the_table_holds_exactly_the_legal_task_instance_pairs() -> None:
    assert set(transitions.TASK_INSTANCE_TRANSITIONS) == LEGAL_TASK_INSTANCE_PAIRS


def test_the_table_holds_exactly_the_legal_run_pairs() -> None:
    assert set(transitions.DAG_RUN_TRANSITIONS) == LEGAL_RUN_PAIRS


def test_a_finished_instance_changes_only_when_people_act_or_its_task_leaves() -> None:
    leaving = {
        rule.name
        for rule in transitions.TASK_INSTANCE_POLICY
        for source, _ in rule.pairs()
        if source in FINISHED_STATES
    }
    assert leaving == {"clear", "mark_success", "mark_failed", "remove", "restore"}


def test_people_never_change_what_an_executor_holds() -> None:
    for rule in (transitions.CLEAR, transitions.MARK_SUCCESS, transitions.MARK_FAILED):
        assert not rule.sources & transitions.BUSY_STATES, rule.name


def test_rule_names_are_unique_in_each_policy() -> None:
    for policy in (transitions.TASK_INSTANCE_POLICY, transitions.DAG_RUN_POLICY):
        names = [rule.name for rule in policy]
        assert len(names) == len(set(names))


def test_every_pair_outside_the_table_is_refused_by_every_rule() -> None:
    policies: list[tuple[tuple[transitions.Rule, ...], list]] = [
        (transitions.TASK_INSTANCE_POLICY, list(S)),
        (transitions.DAG_RUN_POLICY, list(R)),
    ]
    for policy, states in policies:
        table = transitions.legal_pairs(policy)
        for source, target in itertools.permutations(states, 2):
            if (source, target) in table:
                continue
            for rule in policy:
                with pytest.raises(IllegalTransitionError):
                    transitions.check("it", source, target, rule)


@pytest.mark.parametrize(
    ("source", "target", "rule", "message"),
    [
        (
            S.SUCCESS,
            S.RUNNING,
            transitions.START,
            "success -> running by rule 'start' (it moves scheduled, queued to running)",
        ),
        (S.NONE, S.SUCCESS, transitions.FINISH, "none -> success by rule 'finish'"),
        (S.RUNNING, S.NONE, transitions.CLEAR, "running -> none by rule 'clear'"),
        (S.QUEUED, S.SUCCESS, transitions.MARK_SUCCESS, "queued -> success by rule 'mark_success'"),
        (S.REMOVED, S.FAILED, transitions.MARK_FAILED, "removed -> failed by rule 'mark_failed'"),
        (S.FAILED, S.SCHEDULED, transitions.RETRY_DUE, "failed -> scheduled by rule 'retry_due'"),
        (S.SUCCESS, S.SKIPPED, transitions.RUN_TIMEOUT, "success -> skipped by rule 'run_timeout'"),
        (S.SUCCESS, S.SCHEDULED, transitions.LOST_ATTEMPT, "by rule 'lost_attempt'"),
        (S.UPSTREAM_FAILED, S.SKIPPED, transitions.BRANCH, "by rule 'branch'"),
    ],
)
def test_an_illegal_pair_names_the_instance_both_states_and_the_rule(
    source: S, target: S, rule: transitions.Rule, message: str
) -> None:
    with pytest.raises(IllegalTransitionError) as raised:
        transitions.check("task instance 'x'", source, target, rule)
    assert str(raised.value).startswith("illegal transition of task instance 'x': ")
    assert message in str(raised.value)


def test_staying_in_a_state_is_no_transition() -> None:
    transitions.check("it", S.SUCCESS, S.SUCCESS, transitions.MARK_SUCCESS)
    transitions.check("it", R.QUEUED, R.QUEUED, transitions.RUN_RERUN)


def test_the_architecture_doc_shows_the_code_tables() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert transitions.markdown_table(transitions.TASK_INSTANCE_POLICY) in text
    assert transitions.markdown_table(transitions.DAG_RUN_POLICY) in text


# -- the engine refuses what the table forbids ------------------------------------------------


def _pair(task_id: str = "b") -> DAG:
    with DAG("pair", start_date=START) as dag:
        EmptyOperator(task_id="a") >> EmptyOperator(task_id=task_id)
    return dag


def test_the_engine_refuses_to_queue_an_instance_that_was_never_scheduled(
    settings: Settings, clock: FakeClock
) -> None:
    local = InProcessRun(_pair(), new_dag_run(_pair(), logical_date=START), settings=settings)
    b = local.engine.get_ti("b")
    with pytest.raises(
        IllegalTransitionError,
        match=r"task instance 'b' of run '\S+' of DAG 'pair': none -> queued by rule 'queue'",
    ):
        local.engine.mark_queued([b])
    assert local.store.get_task_instances("pair", b.run_id)[1].state is S.NONE


def test_the_engine_refuses_to_finish_a_run_that_never_started(settings: Settings) -> None:
    dag = _pair()
    local = InProcessRun(dag, new_dag_run(dag, logical_date=START), settings=settings)
    with pytest.raises(IllegalTransitionError, match="queued -> success by rule 'finish'"):
        local.engine.finalize(datetime(2024, 1, 2, tzinfo=UTC))
    assert local.engine.run.state is R.QUEUED


# -- each path of the engine names its rule ---------------------------------------------------

Seen = list[tuple[str, str, str]]


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Seen:
    """Every transition the engine makes, as (rule, from, to)."""
    made: Seen = []
    check = transitions.check

    def recording(what: str, source, target, rule) -> None:  # type: ignore[no-untyped-def]
        check(what, source, target, rule)
        if source != target:
            made.append((rule.name, source.value, target.value))

    monkeypatch.setattr(transitions, "check", recording)
    return made


def _fail() -> None:
    raise RuntimeError("planned failure")


def test_an_instance_that_runs_retries_and_succeeds(seen: Seen, clock: FakeClock) -> None:
    tries = []

    def flaky() -> None:
        tries.append(1)
        if len(tries) == 1:
            raise RuntimeError("first try fails")

    with DAG("retrying", start_date=START) as dag:
        PythonOperator(task_id="t", python_callable=flaky, retries=1, retry_delay=60)
    assert run_dag(dag, clock=clock).state == "success"
    assert seen == [
        ("start", "queued", "running"),  # the run
        ("trigger_rule", "none", "scheduled"),
        ("queue", "scheduled", "queued"),
        ("start", "queued", "running"),
        ("retry", "running", "up_for_retry"),
        ("retry_due", "up_for_retry", "scheduled"),
        ("queue", "scheduled", "queued"),
        ("start", "queued", "running"),
        ("finish", "running", "success"),
        ("finish", "running", "success"),  # the run
    ]


def test_skips_name_the_trigger_rule_the_branch_or_the_short_circuit(seen: Seen) -> None:
    with DAG("skips", start_date=START) as dag:
        branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "left")
        left, right = EmptyOperator(task_id="left"), EmptyOperator(task_id="right")
        after_right = EmptyOperator(task_id="after_right")
        stop = ShortCircuitOperator(task_id="stop", python_callable=lambda: False)
        stopped = EmptyOperator(task_id="stopped")
        boom = PythonOperator(task_id="boom", python_callable=_fail)
        below_boom = EmptyOperator(task_id="below_boom")
        branch >> [left, right]
        right >> after_right
        left >> stop >> stopped
        boom >> below_boom
    run_dag(dag)
    skips = {(rule, target) for rule, _, target in seen if rule != "finish"}
    assert ("branch", "skipped") in skips  # right
    assert ("trigger_rule", "skipped") in skips  # after_right, below a skipped task
    assert ("short_circuit", "skipped") in skips  # stopped
    assert ("trigger_rule", "upstream_failed") in skips  # below_boom


def test_a_mapped_task_expands_by_the_expand_rule(seen: Seen) -> None:
    with DAG("mapping", start_date=START) as dag:

        @task
        def double(x: int) -> int:
            return 2 * x

        @task
        def nothing() -> list[int]:
            return []

        double.expand(x=[1, 2])
        double.override(task_id="none_to_do").expand(x=nothing())
    run_dag(dag)
    expanded = [(source, target) for rule, source, target in seen if rule == "expand"]
    assert sorted(expanded) == [("none", "scheduled"), ("none", "scheduled"), ("none", "skipped")]


def test_tasks_test_forces_its_one_task(seen: Seen) -> None:
    with DAG("one", start_date=START) as dag:
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    run_task(dag, "b")
    assert ("force_schedule", "none", "scheduled") in seen
    assert ("start", "scheduled", "running") in seen


def test_a_run_timeout_skips_a_waiting_retry_and_ends_the_run_early(
    seen: Seen, clock: FakeClock
) -> None:
    with DAG("late", start_date=START, dagrun_timeout=timedelta(minutes=1)) as dag:
        PythonOperator(task_id="t", python_callable=_fail, retries=1, retry_delay=3600)
    result = run_dag(dag, clock=clock)
    assert result.state == "failed"
    assert ("run_timeout", "up_for_retry", "skipped") in seen
    assert seen[-1] == ("end_early", "running", "failed")
    assert result.run.note == "run timed out after 0:01:00 (dagrun_timeout)"


def test_a_lost_attempt_runs_again_uncounted(
    seen: Seen, settings: Settings, clock: FakeClock
) -> None:
    dag = _pair()
    local = InProcessRun(dag, new_dag_run(dag, logical_date=START), settings=settings)
    engine = local.engine
    [a] = engine.schedule(clock.now())
    engine.mark_queued([a])
    engine.start_attempt("a", -1, clock.now())
    engine.requeue_lost("a", -1, clock.now(), "lost with its scheduler")
    assert seen[-1] == ("lost_attempt", "running", "scheduled")
    assert (a.try_number, a.max_tries) == (1, 2)


def test_a_task_that_leaves_the_dag_is_removed_and_restored_when_it_comes_back(
    seen: Seen, settings: Settings, clock: FakeClock
) -> None:
    dag = _pair()
    local = InProcessRun(dag, new_dag_run(dag, logical_date=START), settings=settings)
    run_id = local.engine.run.run_id
    with DAG("pair", start_date=START) as smaller:
        EmptyOperator(task_id="a")
    DagRunEngine.load(smaller, local.store, local.xcoms, "pair", run_id, now=clock.now())
    assert ("remove", "none", "removed") in seen
    DagRunEngine.load(dag, local.store, local.xcoms, "pair", run_id, now=clock.now())
    assert seen[-1] == ("restore", "removed", "none")
