"""Pools: the limits on how many task instances run at once per pool."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.operations.admin import MAX_POOL_SLOTS
from headwater.services._schema import Schema

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext

__all__ = [
    "MAX_POOL_SLOTS",
    "PoolDeleted",
    "PoolOut",
    "PoolUsage",
    "delete_pool",
    "list_pools",
    "set_pool",
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


class PoolDeleted(Schema):
    name: str
    deleted: bool = True


def set_pool(ctx: ServiceContext, name: str, slots: int, description: str | None = None) -> PoolOut:
    """Create pool ``name`` or change its slots (0 to :data:`MAX_POOL_SLOTS`); ``description``
    None keeps the stored one. Invalid: a bad name or slot count."""
    from headwater.operations import set_pool as set_pool_op

    pool = set_pool_op(ctx.store, name, slots, description)
    return PoolOut(name=pool.name, slots=pool.slots, description=pool.description)


def list_pools(ctx: ServiceContext) -> list[PoolUsage]:
    """Every pool with the slots taken by running and by queued task instances."""
    store = ctx.store
    pools = store.list_pools()
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
