"""The ``task_state_store`` and ``asset_state_store`` accessors
(:mod:`headwater.runtime.state_store_context`) on a memory store with a fake clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from headwater.authoring.assets import Asset
from headwater.clock import FakeClock
from headwater.runtime.state_store_context import (
    DEFAULT_RETENTION,
    NEVER_EXPIRE,
    AssetStateStoreAccessors,
    StateStoreUnavailableError,
    TaskStateStoreAccessor,
)
from headwater.store.memory import MemoryStore
from headwater.store.state_stores import TaskStateScope

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SCOPE = TaskStateScope("etl", "r1", "load")
ORDERS = Asset(name="orders/daily", uri="s3://warehouse/orders/daily")
USERS = Asset("s3://warehouse/users")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(clock=FakeClock(T0))


def _later(store: MemoryStore, by: timedelta) -> None:
    clock: Any = store.clock
    clock.advance(by)


def test_set_get_default_and_delete(store: MemoryStore) -> None:
    state = TaskStateStoreAccessor(store, SCOPE)
    assert state.get("job_id") is None
    assert state.get("job_id", default="none") == "none"
    state.set("job_id", "job-1")
    assert state.get("job_id") == "job-1"
    # Another accessor of the same instance (the next try) sees it; another task does not.
    assert TaskStateStoreAccessor(store, SCOPE).get("job_id") == "job-1"
    assert TaskStateStoreAccessor(store, TaskStateScope("etl", "r1", "other")).get("job_id") is None
    state.delete("job_id")
    state.delete("job_id")  # absent: nothing happens
    assert state.get("job_id") is None


def test_retention_default_explicit_and_never(store: MemoryStore) -> None:
    state = TaskStateStoreAccessor(store, SCOPE)
    state.set("default", 1)
    state.set("hour", 2, retention=timedelta(hours=1))
    state.set("never", 3, retention=NEVER_EXPIRE)
    _later(store, timedelta(hours=1))
    assert (state.get("hour"), state.get("default"), state.get("never")) == (None, 1, 3)
    _later(store, DEFAULT_RETENTION)
    assert (state.get("default"), state.get("never")) == (None, 3)
    with pytest.raises(TypeError, match="retention of state key 'x' must be a timedelta"):
        state.set("x", 1, retention=30)  # type: ignore[arg-type]


def test_clear_and_async_methods(store: MemoryStore) -> None:
    state = TaskStateStoreAccessor(store, SCOPE)

    async def work() -> Any:
        await state.aset("progress", {"done": [1]}, retention=NEVER_EXPIRE)
        got = await state.aget("progress")
        await state.adelete("progress")
        await state.aset("other", 1)
        await state.aclear()
        return got, await state.aget("other", "gone")

    assert asyncio.run(work()) == ({"done": [1]}, "gone")
    state.set("a", 1)
    state.clear()
    assert store.list_task_state(SCOPE, now=T0) == {}


def test_none_is_refused_naming_the_task_and_key(store: MemoryStore) -> None:
    with pytest.raises(ValueError, match=r"task etl\.load of run 'r1': cannot store None .*'k'"):
        TaskStateStoreAccessor(store, SCOPE).set("k", None)


def test_asset_state_by_asset_uri_or_name(store: MemoryStore) -> None:
    states = AssetStateStoreAccessors(store, [ORDERS, USERS], "load")
    states[ORDERS].set("watermark", "w1")
    assert states["s3://warehouse/orders/daily"].get("watermark") == "w1"
    assert states["orders/daily"].get("watermark") == "w1"
    assert ORDERS in states and len(states) == 2
    # The same asset seen by another task shares the state.
    assert AssetStateStoreAccessors(store, [ORDERS], "consume").get("watermark") == "w1"
    with pytest.raises(KeyError, match=r"task 'load': Asset.*s3://elsewhere.*not among"):
        states[Asset("s3://elsewhere")]
    with pytest.raises(ValueError, match="task 'load' has 2 inlet and outlet assets"):
        states.get("watermark")


def test_a_store_without_state_says_so() -> None:
    class NoState:
        pass

    state = TaskStateStoreAccessor(NoState(), SCOPE)  # type: ignore[arg-type]
    with pytest.raises(StateStoreUnavailableError, match=r"NoState.*keeps no state"):
        state.get("k")


def test_building_the_accessors_reads_nothing() -> None:
    class Counting(MemoryStore):
        reads = 0

        def get_task_state(self, *args: Any, **kwargs: Any) -> Any:
            Counting.reads += 1
            return super().get_task_state(*args, **kwargs)

    counting = Counting()
    state = TaskStateStoreAccessor(counting, SCOPE)
    AssetStateStoreAccessors(counting, [ORDERS], "t")
    assert Counting.reads == 0
    state.get("k")
    assert Counting.reads == 1
