from datetime import UTC, datetime

from headwater.engine.records import TaskInstance
from headwater.scheduler.admission import Candidate, Capacity, admit, candidate_order


def candidate(task_id, *, dag="d", pool="default_pool", slots=1, weight=1, day=1) -> Candidate:
    ti = TaskInstance(dag, f"run{day}", task_id, pool=pool, pool_slots=slots)
    ti.priority_weight = weight
    return Candidate(ti, datetime(2024, 1, day, tzinfo=UTC))


def ids(admission) -> list[str]:
    return [ti.task_id for ti in admission.admitted]


def capacity(slots=10, pools=None, dag_tasks=None) -> Capacity:
    return Capacity(
        slots=slots,
        pools=pools if pools is not None else {"default_pool": 128},
        dag_tasks=dag_tasks if dag_tasks is not None else {"d": 16, "e": 16},
    )


def test_highest_priority_first_then_oldest_run() -> None:
    cands = [
        candidate("low", weight=1, day=1),
        candidate("high", weight=5, day=3),
        candidate("new", weight=2, day=2),
        candidate("old", weight=2, day=1),
    ]
    assert ids(admit(sorted(cands, key=candidate_order), capacity(slots=3))) == [
        "high",
        "old",
        "new",
    ]


def test_pool_slots_limit_and_smaller_tasks_fill_the_rest() -> None:
    cap = capacity(pools={"default_pool": 128, "db": 3})
    cands = [
        candidate("big", pool="db", slots=2, weight=9),
        candidate("big2", pool="db", slots=2, weight=8),
        candidate("small", pool="db", slots=1, weight=1),
    ]
    assert ids(admit(sorted(cands, key=candidate_order), cap)) == ["big", "small"]
    assert cap.pools["db"] == 0
    assert cap.slots == 8


def test_max_active_tasks_per_dag() -> None:
    cap = capacity(dag_tasks={"d": 1, "e": 2})
    cands = [candidate(f"d{i}") for i in range(3)] + [candidate(f"e{i}", dag="e") for i in range(3)]
    assert ids(admit(sorted(cands, key=candidate_order), cap)) == ["d0", "e0", "e1"]


def test_parallelism_caps_everything() -> None:
    assert ids(admit([candidate(f"t{i}") for i in range(5)], capacity(slots=2))) == ["t0", "t1"]


def test_unknown_pool_is_reported_not_admitted() -> None:
    result = admit([candidate("x", pool="nope"), candidate("y")], capacity())
    assert ids(result) == ["y"]
    assert [ti.task_id for ti in result.unknown_pool] == ["x"]
