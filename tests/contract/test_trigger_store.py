"""The trigger port (:mod:`headwater.store.triggers`): a deferred outcome stores its trigger
in the same transaction; claims, firing once, failing, orphans. MemoryStore and SqlStore
(SQLite, PostgreSQL) alike."""

from __future__ import annotations

from datetime import timedelta

from db_records import T0, make_attempt, make_run, make_ti
from headwater.engine.records import AttemptOutcome, Deferral, TaskInstance
from headwater.engine.states import TaskInstanceState
from headwater.store.ports import Store
from headwater.store.triggers import FAILED, FIRED, WAITING

S = TaskInstanceState
LEASE = timedelta(seconds=60)
DEFERRAL = Deferral(
    "headwater.triggers.temporal.DateTimeTrigger",
    {"moment": "2024-01-02T00:00:00+00:00"},
    method_name="execute_complete",
    method_kwargs={"step": 2},
    timeout_at=T0 + timedelta(hours=1),
)


def _defer(store: Store, task_id: str = "wait", run_id: str = "r1") -> TaskInstance:
    """An instance whose try 1 deferred: the worker recorded it, the engine applied it."""
    run = make_run(run_id=run_id)
    ti = make_ti(task_id, run, state=S.RUNNING, try_number=1, max_tries=1)
    if store.get_dag_run(run.dag_id, run_id) is None:
        store.create_dag_run(run, [ti])
    else:
        store.save_task_instances([ti])
    assert store.claim_attempt(make_attempt(ti))
    outcome = AttemptOutcome(S.DEFERRED, deferral=DEFERRAL)
    assert store.record_attempt_outcome(ti.key.attempt(1), outcome, T0, start_date=T0)
    ti.state = S.DEFERRED
    store.save_task_instances([ti])
    return ti


def test_a_deferred_outcome_stores_its_trigger(any_store: Store) -> None:
    ti = _defer(any_store)
    trigger = any_store.get_trigger_of(ti.key.attempt(1))
    assert trigger is not None
    assert (trigger.classpath, trigger.kwargs, trigger.state) == (
        DEFERRAL.trigger_classpath,
        DEFERRAL.trigger_kwargs,
        WAITING,
    )
    assert (trigger.created_at, trigger.timeout_at) == (T0, DEFERRAL.timeout_at)
    assert any_store.get_trigger(trigger.id) == trigger
    assert any_store.list_triggers() == [trigger]
    assert any_store.count_waiting_triggers() == 1
    attempt = any_store.get_attempt(ti.key.attempt(1))
    assert attempt is not None and attempt.state is S.DEFERRED
    assert attempt.outcome is not None and attempt.outcome.deferral == DEFERRAL
    assert any_store.get_trigger_of(ti.key.attempt(2)) is None


def test_a_stale_deferral_stores_no_trigger(any_store: Store) -> None:
    run = make_run()
    ti = make_ti("wait", run, state=S.RUNNING, try_number=1)
    any_store.create_dag_run(run, [ti])
    outcome = AttemptOutcome(S.DEFERRED, deferral=DEFERRAL)
    assert not any_store.record_attempt_outcome(ti.key.attempt(1), outcome, T0, start_date=T0)
    assert any_store.list_triggers() == []


def test_triggers_are_claimed_by_one_triggerer_until_its_lease_runs_out(any_store: Store) -> None:
    one = _defer(any_store, "a")
    two = _defer(any_store, "b")
    held = any_store.claim_triggers("t1", T0, LEASE, limit=1)
    assert [t.key.task_id for t in held] == ["a"]
    assert [t.key.task_id for t in any_store.claim_triggers("t2", T0, LEASE)] == ["b"]
    assert any_store.claim_triggers("t3", T0, LEASE) == []
    later = T0 + timedelta(seconds=30)
    assert len(any_store.renew_trigger_claims("t1", later, LEASE)) == 1
    # t2 stopped renewing: t3 takes "b" over; t1 still holds "a", and sees it again
    taken = any_store.claim_triggers("t3", T0 + LEASE, LEASE)
    assert [t.key.task_id for t in taken] == ["b"]
    assert [t.key.task_id for t in any_store.claim_triggers("t1", later, LEASE)] == ["a"]
    assert any_store.release_trigger_claims("t1") == 1
    assert [t.key for t in any_store.claim_triggers("t4", later, LEASE)] == [one.key.attempt(1)]
    assert two.key.attempt(1) in {t.key for t in any_store.list_triggers([WAITING])}


def test_a_trigger_fires_once(any_store: Store) -> None:
    ti = _defer(any_store)
    trigger = any_store.get_trigger_of(ti.key.attempt(1))
    assert trigger is not None
    later = T0 + timedelta(seconds=5)
    assert any_store.fire_trigger(trigger.id, {"at": "now", "n": [1, 2]}, later)
    assert not any_store.fire_trigger(trigger.id, "again", later)
    assert not any_store.fail_trigger(trigger.id, "too late", later)
    fired = any_store.get_trigger(trigger.id)
    assert fired is not None
    assert (fired.state, fired.payload, fired.fired_at) == (
        FIRED,
        {"at": "now", "n": [1, 2]},
        later,
    )
    assert any_store.claim_triggers("t1", later, LEASE) == []  # fired: nothing to run
    assert any_store.count_waiting_triggers() == 0
    assert any_store.list_triggers([FIRED]) == [fired]


def test_a_trigger_that_fails_keeps_its_error(any_store: Store) -> None:
    ti = _defer(any_store)
    trigger = any_store.get_trigger_of(ti.key.attempt(1))
    assert trigger is not None
    assert any_store.fail_trigger(trigger.id, "ValueError: bad path", T0)
    assert not any_store.fire_trigger(trigger.id, None, T0)
    failed = any_store.get_trigger(trigger.id)
    assert failed is not None and (failed.state, failed.error) == (FAILED, "ValueError: bad path")
    assert any_store.delete_trigger(trigger.id)
    assert not any_store.delete_trigger(trigger.id)
    assert any_store.get_trigger(trigger.id) is None


def test_triggers_of_instances_that_moved_on_are_orphans(any_store: Store) -> None:
    kept = _defer(any_store, "kept")
    cleared = _defer(any_store, "cleared")
    cleared.state = S.NONE
    any_store.save_task_instances([cleared])
    assert [t.key.task_id for t in any_store.claim_triggers("t1", T0, LEASE)] == ["kept"]
    assert any_store.delete_orphan_triggers() == 1
    assert [t.key for t in any_store.list_triggers()] == [kept.key.attempt(1)]


def test_deleting_a_run_deletes_its_triggers(any_store: Store) -> None:
    _defer(any_store, run_id="r1")
    _defer(any_store, run_id="r2")
    assert any_store.delete_dag_run("etl", "r1")
    assert [t.key.run_id for t in any_store.list_triggers()] == ["r2"]


INBOX = ("s3://bucket/inbox", "flag")
ORDERS = ("s3://bucket/orders", "watch")
STOCK = ("s3://bucket/stock", "watch")


def test_asset_watchers_are_claimed_by_one_triggerer_until_its_lease_runs_out(
    any_store: Store,
) -> None:
    lease = timedelta(seconds=30)
    wanted = [INBOX, ORDERS]
    assert any_store.claim_asset_watchers("a", wanted, T0, lease) == {INBOX, ORDERS}
    assert any_store.claim_asset_watchers("b", wanted, T0, lease) == set()
    # a renews its claims as it asks again; b gets nothing while they hold.
    later = T0 + timedelta(seconds=20)
    assert any_store.claim_asset_watchers("a", wanted, later, lease) == {INBOX, ORDERS}
    assert any_store.claim_asset_watchers("b", wanted, T0 + timedelta(seconds=40), lease) == set()
    # a stops asking (it died): b takes them over once the renewed leases ran out.
    after = later + lease
    assert any_store.claim_asset_watchers("b", wanted, after, lease) == {INBOX, ORDERS}
    assert any_store.claim_asset_watchers("a", wanted, after, lease) == set()


def test_a_claim_limit_spreads_watchers_and_a_release_hands_them_over(any_store: Store) -> None:
    lease = timedelta(seconds=30)
    wanted = [INBOX, ORDERS, STOCK]
    first = any_store.claim_asset_watchers("a", wanted, T0, lease, limit=2)
    assert len(first) == 2
    assert any_store.claim_asset_watchers("b", wanted, T0, lease) == set(wanted) - first
    # a stops: its watchers are free at once, not after its lease.
    assert any_store.release_asset_watchers("a") == 2
    assert any_store.claim_asset_watchers("b", wanted, T0, lease) == set(wanted)
    # Releasing some only: b keeps the others.
    assert any_store.release_asset_watchers("b", [INBOX]) == 1
    assert any_store.claim_asset_watchers("a", wanted, T0, lease) == {INBOX}
    assert any_store.release_asset_watchers("c", [ORDERS]) == 0  # not c's


def test_claims_of_watchers_no_dag_wants_go_once_they_ran_out(any_store: Store) -> None:
    lease = timedelta(seconds=30)
    any_store.claim_asset_watchers("a", [INBOX, ORDERS], T0, lease)
    # ORDERS is no longer wanted; while a's lease holds, b cannot take INBOX either.
    assert any_store.claim_asset_watchers("b", [INBOX], T0 + timedelta(seconds=10), lease) == set()
    gone = T0 + timedelta(minutes=5)
    assert any_store.claim_asset_watchers("b", [INBOX], gone, lease) == {INBOX}
    # ORDERS' claim ran out and nobody wants it: deleted, so anyone may take it at once.
    assert any_store.claim_asset_watchers("c", [ORDERS], gone, lease) == {ORDERS}
    assert any_store.claim_asset_watchers("a", [], gone, lease) == set()
