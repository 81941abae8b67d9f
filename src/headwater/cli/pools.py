"""``headwater pools``: the limits on how many task instances run at once per pool."""

from __future__ import annotations

import click

from headwater.cli._common import console, emit_schema, handle_errors, output_option, table


@click.group()
def pools() -> None:
    """Create, list and delete pools (limits on concurrent task instances)."""


def _slots(ctx: click.Context, param: click.Parameter, value: int) -> int:
    """SLOTS within the operation's range: a usage error (exit 2) naming it, not exit 1."""
    # Imported here, not at the top: the services and operations are slow to import, and
    # `headwater pools --help` should not wait for it.
    from headwater.services.pools import MAX_POOL_SLOTS

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
    from headwater.services.context import open_context
    from headwater.services.pools import set_pool as set_stored_pool

    with open_context() as ctx:
        pool = set_stored_pool(ctx, name, slots, description)
    if output == "json":
        emit_schema(pool)
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
    from headwater.services.context import open_context
    from headwater.services.pools import list_pools as list_stored

    with open_context() as ctx:
        pools = list_stored(ctx)
    if output == "json":
        emit_schema(pools)
        return
    columns = ["name", "slots", "running", "queued", "open", "description"]
    console().print(table(None, columns, [[getattr(p, c) for c in columns] for p in pools]))


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
    from headwater.services.context import open_context
    from headwater.services.pools import delete_pool as delete_stored

    with open_context() as ctx:
        deleted = delete_stored(ctx, name)
    if output == "json":
        emit_schema(deleted)
    else:
        console().print(f"Deleted pool {name}")
