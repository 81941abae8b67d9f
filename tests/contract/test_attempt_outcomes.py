"""Recording an attempt's outcome with its row: a compare-and-set on the running attempt, with
the XComs its instance pushed, in one atomic change (memory, SQLite, PostgreSQL alike)."""

from __future__ import annotations

from datetime import timedelta

from db_records import T0, make_attempt, make_run, make_ti
from headwater.engine.records import AttemptOutcome
from headwater.engine.states import TaskInstanceState
from headwater.store.ports import Store

S = TaskInstanceState


def _running(store: Store) -> tuple:
    run = make_run()
    ti = make_ti("a", run, state=S.RUNNING, try_number=1)
    store.create_dag_run(run, [ti])
    attempt = make_attempt(ti, rendered_fields={"cmd": "echo"})
    store.save_attempt(attempt)
    return ti, attempt


def test_an_outcome_is_recorded_once_with_its_xcoms(any_store: Store) -> None:
    ti, attempt = _running(any_store)
    assert any_store.get_attempt(attempt.key) == attempt
    outcome = AttemptOutcome(
        S.SUCCESS, follow_branches=["left"], rendered_fields={"cmd": "echo hi"}
    )
    end = T0 + timedelta(seconds=3)
    assert any_store.record_attempt_outcome(attempt.key, outcome, end, {"return_value": "42"})

    stored = any_store.get_attempt(attempt.key)
    assert stored is not None
    assert (stored.state, stored.end_date, stored.duration) == (S.SUCCESS, end, 3.0)
    assert stored.rendered_fields == {"cmd": "echo hi"}
    assert stored.outcome is not None and stored.outcome.recorded
    assert stored.outcome.follow_branches == ["left"] and stored.outcome.state is S.SUCCESS
    assert any_store.get_xcom(ti.key, "return_value") == "42"

    # A second writer (a late result, a scheduler that took it for lost) is refused and
    # changes nothing: neither the row nor the XComs.
    late = AttemptOutcome(S.FAILED, error="lost")
    assert not any_store.record_attempt_outcome(attempt.key, late, end, {"return_value": "0"})
    again = any_store.get_attempt(attempt.key)
    assert again is not None and again.state is S.SUCCESS and again.error is None
    assert any_store.get_xcom(ti.key, "return_value") == "42"


def test_a_failed_outcome_keeps_its_retry_decision_and_error(any_store: Store) -> None:
    _, attempt = _running(any_store)
    outcome = AttemptOutcome(S.FAILED, error="ValueError: bad", retry=True)
    assert any_store.record_attempt_outcome(attempt.key, outcome, T0)
    stored = any_store.get_attempt(attempt.key)
    assert stored is not None and stored.outcome is not None
    assert (stored.outcome.state, stored.outcome.retry, stored.outcome.error) == (
        S.FAILED,
        True,
        "ValueError: bad",
    )


def test_an_attempt_that_never_started_or_another_try_is_not_recorded(
    any_store: Store,
) -> None:
    ti, attempt = _running(any_store)
    other_try = ti.key.attempt(2)
    assert not any_store.record_attempt_outcome(other_try, AttemptOutcome(S.SUCCESS), T0)
    assert any_store.get_attempt(other_try) is None
    stored = any_store.get_attempt(attempt.key)
    assert stored is not None and stored.state is S.RUNNING and stored.outcome is None


def test_an_attempt_is_claimed_once(any_store: Store) -> None:
    run = make_run()
    ti = make_ti("a", run, state=S.QUEUED)
    any_store.create_dag_run(run, [ti])
    first = make_attempt(ti, hostname="host-1", pid=11)
    assert any_store.claim_attempt(first)
    # A second start of the same try (a message delivered twice) is refused.
    assert not any_store.claim_attempt(make_attempt(ti, hostname="host-2", pid=22))
    stored = any_store.get_attempt(first.key)
    assert stored is not None and (stored.hostname, stored.pid) == ("host-1", 11)
    assert any_store.claim_attempt(make_attempt(ti, try_number=2))  # the next try is another
