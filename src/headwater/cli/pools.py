"""``headwater pools``: the limits on how many task instances run at once per pool."""

from __future__ import annotations

import click

from headwater.cli._common import console, emit_json, handle_errors, output_option, table


@click.group()
def pools() -> None:
    """Create, list and delete pools (limits on concurrent task instances)."""


def _slots(ctx: click.Context, param: click.Parameter, value: int) -> int:
    """SLOTS within the operation's range: a usage error (exit 2) naming it, not exit 1."""
    # Imported here, not at the top: the operations package is slow to import, and
    # `headwater pools --help` should not wait for it.
    from headwater.operations.admin import MAX_POOL_SLOTS

    return click.IntRange(0, MAX_POOL_SLOTS).convert(value, param, ctx)


@pools.command("set")
@click.argument("name")
@click.argument("slots", type=int, callback=_slots)
@click.option("--description", help="What the pool is for; default: keep the current one.")
@output_option
@handle_errors
def set_pool(name: str, slots: int, description: str | None, output: str) -> None:
    """Create pool NAME with SLOTS slots (0 to 1,000,000), or change its slots.

    Tasks with pool=NAME hold pool_slots of it while queued or running; the others wait.

    \b
    Example:
        headwater pools set warehouse 4 --description "the reporting database"
    """
    from headwater.cli._store import open_store
    from headwater.operations import set_pool as set_pool_op

    with open_store() as store:
        pool = set_pool_op(store, name, slots, description)
    if output == "json":
        emit_json({"name": pool.name, "slots": pool.slots, "description": pool.description})
    else:
        console().print(f"Pool {pool.name} has {pool.slots} slot(s)")


@pools.command("list")
@output_option
@handle_errors
def list_pools(output: str) -> None:
    """List every pool with its slots and how many are taken by running or queued tasks.

    \b
    Example:
        headwater pools list -o json
    """
    from headwater.cli._store import open_store

    with open_store() as store:
        rows = store.list_pools()
        running = store.count_tis_by_pool(["running"])
        queued = store.count_tis_by_pool(["queued"])
    data = [
        {
            "name": p.name,
            "slots": p.slots,
            "running": running.get(p.name, 0),
            "queued": queued.get(p.name, 0),
            "open": p.slots - running.get(p.name, 0) - queued.get(p.name, 0),
            "description": p.description,
        }
        for p in rows
    ]
    if output == "json":
        emit_json(data)
        return
    columns = ["name", "slots", "running", "queued", "open", "description"]
    console().print(table(None, columns, [[d[c] for c in columns] for d in data]))


@pools.command("delete")
@click.argument("name")
@output_option
@handle_errors
def delete_pool(name: str, output: str) -> None:
    """Delete pool NAME; default_pool cannot be deleted.

    Tasks that name a missing pool wait (the scheduler logs a warning) until it exists.

    \b
    Example:
        headwater pools delete warehouse
    """
    from headwater.cli._store import open_store
    from headwater.operations import delete_pool as delete_pool_op

    with open_store() as store:
        delete_pool_op(store, name)
    if output == "json":
        emit_json({"name": name, "deleted": True})
    else:
        console().print(f"Deleted pool {name}")
