"""Which scheduled task instances may start now: parallelism, pools, ``max_active_tasks``.

Candidates are taken highest ``priority_weight`` first, then oldest run first; one that does
not fit (its pool or its DAG is full) waits without blocking smaller ones behind it.
Pure: the scheduler passes in what is free and gets back what to queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from headwater.engine.records import TaskInstance


@dataclass
class Capacity:
    """What is free right now."""

    slots: int
    """``parallelism`` minus the attempts queued or running."""
    pools: dict[str, int]
    """Free slots of each pool; a pool that is missing does not exist."""
    dag_tasks: dict[str, int]
    """Per DAG, ``max_active_tasks`` minus its instances queued or running."""


@dataclass
class Admission:
    admitted: list[TaskInstance] = field(default_factory=list)
    unknown_pool: list[TaskInstance] = field(default_factory=list)


@dataclass(frozen=True)
class Candidate:
    ti: TaskInstance
    logical_date: datetime


def candidate_order(candidate: Candidate) -> tuple[int, datetime]:
    """Highest ``priority_weight`` first, then the oldest run."""
    return -candidate.ti.priority_weight, candidate.logical_date


def admit(candidates: Iterable[Candidate], capacity: Capacity) -> Admission:
    """Take ``candidates`` (already in :func:`candidate_order`) while capacity lasts; stops
    reading them once every slot is taken. Updates ``capacity``."""
    result = Admission()
    for candidate in candidates:
        if capacity.slots <= 0:
            break
        ti = candidate.ti
        if ti.pool not in capacity.pools:
            result.unknown_pool.append(ti)
            continue
        if capacity.pools[ti.pool] < ti.pool_slots or capacity.dag_tasks.get(ti.dag_id, 0) <= 0:
            continue
        capacity.pools[ti.pool] -= ti.pool_slots
        capacity.dag_tasks[ti.dag_id] -= 1
        capacity.slots -= 1
        result.admitted.append(ti)
    return result
