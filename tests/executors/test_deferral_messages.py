"""A resumed instance's deferral fields travel to its worker in the attempt message (JSON),
and a deferred outcome (with its deferral) or a rescheduled one survives the attempt row's
JSON."""

from __future__ import annotations

from datetime import UTC, datetime

from headwater.engine.records import (
    AttemptKey,
    AttemptOutcome,
    DagRun,
    Deferral,
    TaskInstance,
)
from headwater.engine.states import TaskInstanceState as S
from headwater.executors.messages import AttemptMessage

AT = datetime(2024, 1, 1, 12, tzinfo=UTC)


def test_next_method_kwargs_and_trigger_timeout_travel_in_the_message() -> None:
    key = AttemptKey("etl", "r1", "wait", -1, 2)
    run = DagRun("etl", "r1", AT, AT, AT)
    ti = TaskInstance(
        "etl",
        "r1",
        "wait",
        state=S.QUEUED,
        try_number=1,
        max_tries=2,
        next_method="execute_complete",
        next_kwargs={"page": 2, "event": {"rows": [1, 2], "ok": True}},
        trigger_timeout=AT,
    )
    message = AttemptMessage(key, fileloc="/dags/etl.py", log_path="/logs/x", run=run, ti=ti)
    back = AttemptMessage.decode(message.encode())
    assert back.ti is not None
    assert back.ti.next_method == "execute_complete"
    assert back.ti.next_kwargs == {"page": 2, "event": {"rows": [1, 2], "ok": True}}
    assert back.ti.trigger_timeout == AT


def test_waiting_outcomes_survive_their_json() -> None:
    deferral = Deferral("pkg.Trigger", {"path": "/x"}, "resume", {"n": 1}, timeout_at=AT)
    deferred = AttemptOutcome(S.DEFERRED, deferral=deferral)
    assert AttemptOutcome.from_json(deferred.to_json()).deferral == deferral
    rescheduled = AttemptOutcome(S.UP_FOR_RESCHEDULE, reschedule_at=AT)
    assert AttemptOutcome.from_json(rescheduled.to_json()).reschedule_at == AT
