"""What the triggerer needs of the trigger port, beyond ``test_trigger_store``: claims
whose ``limit`` counts new triggers only, held triggers without orphans, and the batch
method ``fire_triggers`` (many events that came at once: each waiting trigger fires once
with its own payload, in one transaction; one that is not waiting is left as it is and is
not in the answer). MemoryStore and SqlStore (SQLite, PostgreSQL) alike."""

from __future__ import annotations

from datetime import timedelta

from test_trigger_store import _defer

from db_records import T0
from headwater.engine.states import TaskInstanceState
from headwater.store.ports import Store
from headwater.store.triggers import FAILED, FIRED, WAITING, TriggerRow

LATER = T0 + timedelta(seconds=5)
LEASE = timedelta(seconds=60)


def _trigger(store: Store, task_id: str) -> TriggerRow:
    ti = _defer(store, task_id)
    trigger = store.get_trigger_of(ti.key.attempt(1))
    assert trigger is not None
    return trigger


def test_many_triggers_fire_at_once_each_with_its_payload(any_store: Store) -> None:
    a, b, c = (_trigger(any_store, name) for name in ("a", "b", "c"))
    fired = any_store.fire_triggers({a.id: {"n": 1}, b.id: [1, "two"], c.id: None}, LATER)
    assert fired == {a.id, b.id, c.id}
    stored = {t.id: t for t in any_store.list_triggers()}
    assert [(stored[i].state, stored[i].payload) for i in (a.id, b.id, c.id)] == [
        (FIRED, {"n": 1}),
        (FIRED, [1, "two"]),
        (FIRED, None),
    ]
    assert {stored[i].fired_at for i in fired} == {LATER}
    assert any_store.count_waiting_triggers() == 0


def test_a_batch_fires_only_the_triggers_still_waiting(any_store: Store) -> None:
    fired_before, failed, deleted, waiting = (
        _trigger(any_store, name) for name in ("fired", "failed", "deleted", "waiting")
    )
    assert any_store.fire_trigger(fired_before.id, "first", T0)
    assert any_store.fail_trigger(failed.id, "ValueError: no", T0)
    assert any_store.delete_trigger(deleted.id)
    batch = dict.fromkeys((fired_before.id, failed.id, deleted.id, waiting.id), "second")
    assert any_store.fire_triggers(batch, LATER) == {waiting.id}
    stored = {t.id: t for t in any_store.list_triggers()}
    assert (stored[fired_before.id].payload, stored[fired_before.id].fired_at) == ("first", T0)
    assert (stored[failed.id].state, stored[failed.id].error) == (FAILED, "ValueError: no")
    assert deleted.id not in stored
    assert (stored[waiting.id].state, stored[waiting.id].payload) == (FIRED, "second")
    # Fired once: a second batch with the same trigger changes nothing.
    assert any_store.fire_triggers({waiting.id: "third"}, LATER) == set()
    assert any_store.get_trigger(waiting.id) == stored[waiting.id]


def test_an_empty_batch_writes_nothing(any_store: Store) -> None:
    trigger = _trigger(any_store, "a")
    assert any_store.fire_triggers({}, LATER) == set()
    assert any_store.get_trigger(trigger.id) == trigger
    assert trigger.state == WAITING


def test_a_batch_joins_a_unit_of_work(any_store: Store) -> None:
    a, b = _trigger(any_store, "a"), _trigger(any_store, "b")
    try:
        with any_store.unit_of_work() as uow:
            assert uow.fire_triggers({a.id: 1, b.id: 2}, LATER) == {a.id, b.id}
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert {t.state for t in any_store.list_triggers()} == {WAITING}


def test_a_claim_limit_counts_new_triggers_only(any_store: Store) -> None:
    a, b, c = (_trigger(any_store, name) for name in ("a", "b", "c"))
    assert [t.id for t in any_store.claim_triggers("t1", T0, LEASE, limit=1)] == [a.id]
    # t1 holds "a" already: a limit of one more claims "b", and the answer holds both.
    held = any_store.claim_triggers("t1", LATER, LEASE, limit=1)
    assert [t.id for t in held] == [a.id, b.id]
    # Held triggers keep their lease (renewals extend it); new ones get now + lease.
    assert [t.claim_expires_at for t in held] == [T0 + LEASE, LATER + LEASE]
    assert [t.id for t in any_store.claim_triggers("t1", LATER, LEASE, limit=0)] == [a.id, b.id]
    assert [t.id for t in any_store.claim_triggers("t2", LATER, LEASE)] == [c.id]


def test_held_triggers_leave_out_orphans(any_store: Store) -> None:
    kept = _trigger(any_store, "kept")
    _trigger(any_store, "cleared")
    assert len(any_store.claim_triggers("t1", T0, LEASE)) == 2
    ti = any_store.get_task_instance("etl", "r1", "cleared")
    assert ti is not None
    ti.state = TaskInstanceState.NONE
    any_store.save_task_instances([ti])
    # Still claimed by t1 until the scheduler deletes it, but no longer t1's to run.
    assert [t.id for t in any_store.claim_triggers("t1", LATER, LEASE)] == [kept.id]


def test_a_deferral_recorded_before_its_instance_is_running_is_no_orphan(
    any_store: Store,
) -> None:
    """The worker claims the attempt and records its deferral before the scheduler records
    the instance as started: the instance is still queued, in the try before. Its trigger
    is claimed and kept; once the instance is cleared, it is an orphan."""
    from db_records import make_attempt, make_run, make_ti
    from headwater.engine.records import AttemptOutcome, Deferral

    run = make_run()
    ti = make_ti("wait", run, state=TaskInstanceState.QUEUED, try_number=0, max_tries=1)
    any_store.create_dag_run(run, [ti])
    assert any_store.claim_attempt(make_attempt(ti))
    deferral = Deferral("flag_triggers.FlagTrigger", {"path": "/x"})
    outcome = AttemptOutcome(TaskInstanceState.DEFERRED, deferral=deferral)
    assert any_store.record_attempt_outcome(ti.key.attempt(1), outcome, T0, start_date=T0)
    assert any_store.delete_orphan_triggers() == 0
    [trigger] = any_store.claim_triggers("t1", T0, LEASE)
    assert trigger.key == ti.key.attempt(1)
    ti.try_number = 1  # cleared after try 1: queued again, for try 2
    any_store.save_task_instances([ti])
    assert any_store.claim_triggers("t1", T0, LEASE) == []
    assert any_store.delete_orphan_triggers() == 1
