"""Pools: the limits on how many task instances run at once per pool.

A pool's slots are *used* by its running and its queued task instances (the scheduler
counts both when it decides what may start), so :class:`PoolUsage` shows each and their
sum. ``default_pool``, which tasks without a pool use, can be changed but not deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, StrictInt, computed_field

from headwater.db.models import ID_LENGTH
from headwater.operations._stored import NAME_PATTERN
from headwater.operations.admin import MAX_POOL_SLOTS
from headwater.services._schema import Schema

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext

__all__ = [
    "MAX_POOL_SLOTS",
    "PoolChange",
    "PoolDeleted",
    "PoolIn",
    "PoolOut",
    "PoolUsage",
    "create_pool",
    "delete_pool",
    "get_pool",
    "list_pools",
    "set_pool",
    "update_pool",
]


class PoolOut(Schema):
    name: str
    slots: int
    description: str


class PoolUsage(Schema):
    """A pool and how many of its slots task instances hold now."""

    name: str
    slots: int
    running: int
    queued: int
    open: int
    """Slots neither running nor queued instances hold (negative when slots were lowered
    below what is in use)."""
    description: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def used(self) -> int:
        """Slots taken: running plus queued instances."""
        return self.running + self.queued


class PoolIn(Schema):
    """A pool to create."""

    name: str = Field(min_length=1, max_length=ID_LENGTH, pattern=NAME_PATTERN)
    slots: StrictInt = Field(ge=0, le=MAX_POOL_SLOTS)
    description: str = Field(default="", max_length=10_000)


class PoolChange(Schema):
    """What to change in a pool; a field left out keeps its value."""

    slots: StrictInt | None = Field(default=None, ge=0, le=MAX_POOL_SLOTS)
    description: str | None = Field(default=None, max_length=10_000)


class PoolDeleted(Schema):
    name: str
    deleted: bool = True


def set_pool(ctx: ServiceContext, name: str, slots: int, description: str | None = None) -> PoolOut:
    """Create pool ``name`` or change its slots (0 to :data:`MAX_POOL_SLOTS`); ``description``
    None keeps the stored one. Invalid: a bad name or slot count."""
    from headwater.operations import set_pool as set_pool_op

    pool = set_pool_op(ctx.store, name, slots, description)
    return PoolOut(name=pool.name, slots=pool.slots, description=pool.description)


def create_pool(ctx: ServiceContext, request: PoolIn) -> PoolUsage:
    """Create a pool; conflict when one of that name exists (change it instead)."""
    from headwater.operations import ConflictError

    if ctx.store.get_pool(request.name) is not None:
        raise ConflictError(f"pool {request.name!r} already exists; change it instead")
    set_pool(ctx, request.name, request.slots, request.description)
    return get_pool(ctx, request.name)


def update_pool(ctx: ServiceContext, name: str, change: PoolChange) -> PoolUsage:
    """Change a pool's slots or description; not found when there is no such pool."""
    from headwater.operations import NotFoundError

    pool = ctx.store.get_pool(name)
    if pool is None:
        raise NotFoundError(f"no pool {name!r}")
    slots = pool.slots if change.slots is None else change.slots
    set_pool(ctx, name, slots, change.description)
    return get_pool(ctx, name)


def get_pool(ctx: ServiceContext, name: str) -> PoolUsage:
    """Pool ``name`` with its slots in use; not found when there is none."""
    from headwater.operations import NotFoundError

    found = list_pools(ctx, name=name)
    if not found:
        raise NotFoundError(f"no pool {name!r}")
    return found[0]


def list_pools(ctx: ServiceContext, *, name: str | None = None) -> list[PoolUsage]:
    """Every pool (or only ``name``) with the slots taken by running and by queued task
    instances."""
    store = ctx.store
    pools = [p for p in store.list_pools() if name is None or p.name == name]
    running = store.count_tis_by_pool(["running"])
    queued = store.count_tis_by_pool(["queued"])
    return [
        PoolUsage(
            name=p.name,
            slots=p.slots,
            running=running.get(p.name, 0),
            queued=queued.get(p.name, 0),
            open=p.slots - running.get(p.name, 0) - queued.get(p.name, 0),
            description=p.description,
        )
        for p in pools
    ]


def delete_pool(ctx: ServiceContext, name: str) -> PoolDeleted:
    """Delete pool ``name``; not found when there is none; ``default_pool`` is refused."""
    from headwater.operations import delete_pool as delete_pool_op

    delete_pool_op(ctx.store, name)
    return PoolDeleted(name=name)
