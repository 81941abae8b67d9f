"""The engine's paths through ``deferred`` and ``up_for_reschedule`` (engine/waiting.py),
on the memory store: entering them from an attempt's outcome, resuming, timing out, the
retry heap, loading a stored run, and what people and run ends do to waiting instances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater import DAG
from headwater.engine import manual_changes
from headwater.engine import transitions as rules
from headwater.engine.dagrun import DagRunEngine
from headwater.engine.records import AttemptOutcome, Deferral
from headwater.engine.run_factory import new_dag_run
from headwater.engine.states import DagRunState
from headwater.engine.transitions import TaskInstanceState as S
from headwater.engine.waiting import FAIL_METHOD, TIMEOUT_METHOD
from headwater.engine.xcoms import XComs
from headwater.exceptions import IllegalTransitionError
from headwater.operators import EmptyOperator
from headwater.settings import Settings
from headwater.store.memory import MemoryStore

START = datetime(2024, 1, 1, tzinfo=UTC)
NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
DEFERRAL = Deferral(
    "deferral_triggers.NowTrigger",
    {"payload": 1},
    method_name="execute_complete",
    method_kwargs={"page": 2},
    timeout_at=NOW + timedelta(hours=1),
)


def _engine(settings: Settings, *, dagrun_timeout: timedelta | None = None) -> DagRunEngine:
    with DAG("waits", start_date=START, dagrun_timeout=dagrun_timeout) as dag:
        EmptyOperator(task_id="wait") >> EmptyOperator(task_id="after")
    store = MemoryStore()
    engine = DagRunEngine.create(
        dag, store, XComs.from_settings(store, settings), new_dag_run(dag, logical_date=START)
    )
    engine.start(NOW)
    return engine


def _run_once(engine: DagRunEngine, outcome: AttemptOutcome, now: datetime = NOW) -> S:
    """Schedule, queue and start ``wait``'s next try, and end it with ``outcome``."""
    [ti] = [t for t in engine.schedule(now) if t.task_id == "wait"]
    engine.mark_queued([ti])
    engine.start_attempt("wait", -1, now)
    return engine.finish_attempt("wait", -1, outcome, now)


def _deferred(engine: DagRunEngine) -> None:
    assert _run_once(engine, AttemptOutcome(S.DEFERRED, deferral=DEFERRAL)) is S.DEFERRED


def test_a_deferred_outcome_keeps_how_the_instance_resumes(settings: Settings) -> None:
    engine = _engine(settings)
    _deferred(engine)
    ti = engine.get_ti("wait")
    assert ti.state is S.DEFERRED
    assert (ti.next_method, ti.next_kwargs) == ("execute_complete", {"page": 2})
    assert ti.trigger_timeout == NOW + timedelta(hours=1)
    [attempt] = engine.store.get_attempts("waits", engine.run.run_id, "wait")
    assert attempt.state is S.DEFERRED
    stored = {t.task_id: t for t in engine.store.get_task_instances("waits", engine.run.run_id)}
    assert stored["wait"].state is S.DEFERRED and stored["wait"].next_kwargs == {"page": 2}
    assert engine.next_retry_at() == NOW + timedelta(hours=1)  # the loop wakes for it
    assert engine.has_deferred() and not engine.is_finished


def test_resume_schedules_the_next_try_with_the_event_not_counted_as_a_retry(
    settings: Settings,
) -> None:
    engine = _engine(settings)
    _deferred(engine)
    later = NOW + timedelta(minutes=1)
    ti = engine.resume("wait", -1, later, payload={"rows": 3})
    assert ti is not None and ti.state is S.SCHEDULED
    assert (ti.next_method, ti.next_kwargs) == (
        "execute_complete",
        {"page": 2, "event": {"rows": 3}},
    )
    assert (ti.try_number, ti.max_tries, ti.trigger_timeout) == (1, 2, None)
    assert engine.schedule(later) == [ti]  # handed out with what became ready
    assert engine.next_retry_at() is None  # its timeout no longer waits
    # The resumed try succeeds: how it resumed is forgotten, and downstream proceeds.
    engine.mark_queued([ti])
    engine.start_attempt("wait", -1, later)
    engine.finish_attempt("wait", -1, AttemptOutcome(S.SUCCESS), later)
    assert (ti.next_method, ti.next_kwargs, ti.try_number) == (None, None, 2)
    assert [t.task_id for t in engine.schedule(later)] == ["after"]


def test_resume_changes_nothing_for_an_instance_that_is_not_deferred(settings: Settings) -> None:
    engine = _engine(settings)
    assert engine.resume("wait", -1, NOW, payload=1) is None
    assert engine.resume("nowhere", -1, NOW, payload=1) is None
    assert engine.get_ti("wait").state is S.NONE


def test_a_failed_trigger_resumes_into_a_failing_try(settings: Settings) -> None:
    engine = _engine(settings)
    _deferred(engine)
    ti = engine.resume("wait", -1, NOW, error="HTTP 500")
    assert ti is not None
    assert (ti.next_method, ti.next_kwargs) == (FAIL_METHOD, {"error": "HTTP 500"})


def test_a_deferral_times_out_on_the_retry_heap(settings: Settings) -> None:
    engine = _engine(settings)
    _deferred(engine)
    assert [t.task_id for t in engine.schedule(NOW + timedelta(minutes=59))] == []
    [ti] = engine.schedule(NOW + timedelta(hours=1))
    assert ti.task_id == "wait" and ti.state is S.SCHEDULED
    assert (ti.next_method, ti.next_kwargs, ti.max_tries) == (TIMEOUT_METHOD, {}, 2)


def test_a_reschedule_waits_on_the_heap_and_each_poke_is_one_more_try(
    settings: Settings,
) -> None:
    engine = _engine(settings)
    at = NOW + timedelta(seconds=30)
    outcome = AttemptOutcome(S.UP_FOR_RESCHEDULE, reschedule_at=at)
    assert _run_once(engine, outcome) is S.UP_FOR_RESCHEDULE
    ti = engine.get_ti("wait")
    assert (ti.next_retry_at, ti.end_date) == (at, NOW)
    assert engine.next_retry_at() == at
    assert engine.schedule(at - timedelta(seconds=1)) == []
    assert _run_once(engine, outcome, at) is S.UP_FOR_RESCHEDULE
    assert (ti.try_number, ti.max_tries) == (2, 2)
    attempts = engine.store.get_attempts("waits", engine.run.run_id, "wait")
    assert [a.state for a in attempts] == [S.UP_FOR_RESCHEDULE, S.UP_FOR_RESCHEDULE]


def test_outcomes_without_what_they_need_fail_the_attempt(settings: Settings) -> None:
    engine = _engine(settings)
    assert _run_once(engine, AttemptOutcome(S.DEFERRED)) is S.FAILED
    assert engine.get_ti("wait").error == "the attempt ended deferred without a deferral"


def test_a_loaded_run_keeps_waiting_for_its_reschedule_and_its_deferral_timeout(
    settings: Settings,
) -> None:
    engine = _engine(settings)
    _deferred(engine)
    loaded = DagRunEngine.load(
        engine.dag, engine.store, engine.xcoms, "waits", engine.run.run_id, now=NOW
    )
    assert loaded.next_retry_at() == NOW + timedelta(hours=1)
    assert loaded.resume("wait", -1, NOW, payload=None) is not None


@pytest.mark.parametrize("waiting", ["deferred", "up_for_reschedule"])
def test_people_may_clear_or_mark_waiting_instances(settings: Settings, waiting: str) -> None:
    engine = _engine(settings)
    if waiting == "deferred":
        _deferred(engine)
    else:
        _run_once(engine, AttemptOutcome(S.UP_FOR_RESCHEDULE, reschedule_at=NOW))
    manual_changes.clear(engine, [("wait", -1)], NOW)
    ti = engine.get_ti("wait")
    assert ti.state is S.NONE
    assert (ti.next_method, ti.next_kwargs, ti.trigger_timeout, ti.next_retry_at) == (
        None,
        None,
        None,
        None,
    )
    assert engine.next_retry_at() is None  # the stale heap entry is dropped


def test_marking_a_deferred_instance_success_lets_downstream_run(settings: Settings) -> None:
    engine = _engine(settings)
    _deferred(engine)
    manual_changes.mark(engine, [("wait", -1)], S.SUCCESS, NOW)
    assert engine.get_ti("wait").next_method is None
    assert [t.task_id for t in engine.schedule(NOW)] == ["after"]


def test_the_run_timeout_ends_waiting_instances(settings: Settings) -> None:
    engine = _engine(settings, dagrun_timeout=timedelta(minutes=10))
    _deferred(engine)
    engine.time_out(NOW + timedelta(minutes=11))
    assert engine.get_ti("wait").state is S.SKIPPED
    assert engine.run.state is DagRunState.FAILED


def test_defer_is_only_from_running(settings: Settings) -> None:
    engine = _engine(settings)
    with pytest.raises(IllegalTransitionError, match="defer"):
        engine._transition(engine.get_ti("wait"), S.DEFERRED, rules.DEFER)


def test_a_run_whose_dag_is_gone_removes_waiting_instances(settings: Settings) -> None:
    engine = _engine(settings)
    _deferred(engine)
    engine.remove_unfinished(NOW, "its DAG file is gone")
    ti = engine.get_ti("wait")
    assert ti.state is S.REMOVED
    assert engine.next_retry_at() is None
