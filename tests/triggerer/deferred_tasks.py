"""Deferred task instances in a store, as a worker and the engine leave them: each one's try
1 recorded a DEFERRED outcome (the store inserted its trigger with it) and the instance is
``deferred``. All in one unit of work, so a thousand cost one transaction."""

from __future__ import annotations

from db_records import T0, make_attempt, make_run, make_ti
from headwater.engine.records import AttemptOutcome, Deferral, TaskInstance
from headwater.engine.states import TaskInstanceState
from headwater.store.ports import Store
from headwater.store.triggers import TriggerRow
from headwater.triggers.base import BaseTrigger

S = TaskInstanceState


def defer(
    store: Store, triggers: list[BaseTrigger], run_id: str = "r1", dag_id: str = "etl"
) -> list[TriggerRow]:
    """A new run of ``dag_id`` whose task ``wait_<i>`` deferred to ``triggers[i]``; their
    stored triggers, in that order."""
    run = make_run(dag_id, run_id)
    tis = [
        make_ti(f"wait_{i}", run, state=S.RUNNING, try_number=1, max_tries=1)
        for i in range(len(triggers))
    ]
    with store.unit_of_work() as uow:
        uow.create_dag_run(run, tis)
        for ti, trigger in zip(tis, triggers, strict=True):
            classpath, kwargs = trigger.serialize()
            outcome = AttemptOutcome(S.DEFERRED, deferral=Deferral(classpath, kwargs))
            assert uow.claim_attempt(make_attempt(ti))
            assert uow.record_attempt_outcome(ti.key.attempt(1), outcome, T0, start_date=T0)
            ti.state = S.DEFERRED
        uow.save_task_instances(tis)
    by_key = {t.key: t for t in store.list_triggers()}
    return [by_key[ti.key.attempt(1)] for ti in tis]


def clear(store: Store, ti_of: TriggerRow) -> TaskInstance:
    """Clear the instance whose try deferred to ``ti_of`` (its trigger becomes an orphan)."""
    key = ti_of.key
    ti = store.get_task_instance(key.dag_id, key.run_id, key.task_id, key.map_index)
    assert ti is not None
    ti.state = S.NONE
    store.save_task_instances([ti])
    return ti
