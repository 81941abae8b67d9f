"""``headwater assets``: the assets DAGs produce and consume, their events, and events
created by hand (which trigger the DAGs scheduled on the asset, as a task's event does)."""

from __future__ import annotations

import json

import click

from headwater.cli._common import (
    cli_actor,
    console,
    emit_schema,
    handle_errors,
    output_option,
    parse_json_object,
    table,
    when,
)

_LIMIT = click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=100,
    show_default=True,
    help="At most this many rows.",
)
_OFFSET = click.option(
    "--offset", type=click.IntRange(0), default=0, show_default=True, help="Skip this many rows."
)


@click.group()
def assets() -> None:
    """List assets and their events; create an event by hand."""


@assets.command("list")
@click.option("--uri", "uri_pattern", help="Only assets whose URI contains this text.")
@_LIMIT
@_OFFSET
@output_option
@handle_errors
def list_assets(uri_pattern: str | None, limit: int, offset: int, output: str) -> None:
    """List assets by URI, with the tasks that produce them, the DAGs scheduled on them and
    their last event.

    \b
    Example:
        headwater assets list --uri s3:// -o json
    """
    from headwater.services.assets import list_assets as list_stored
    from headwater.services.context import open_context

    with open_context() as ctx:
        page = list_stored(ctx, uri_pattern=uri_pattern, limit=limit, offset=offset)
    if output == "json":
        emit_schema(page)
        return
    rows = [
        [
            a.id,
            a.uri,
            a.group,
            ", ".join(f"{t.dag_id}.{t.task_id}" for t in a.producing_tasks),
            ", ".join(a.consuming_dags),
            when(a.last_event.timestamp) if a.last_event else "",
        ]
        for a in page.items
    ]
    columns = ["id", "uri", "group", "produced by", "scheduled DAGs", "last event"]
    console().print(table(f"{page.total} asset(s)", columns, rows))


@assets.command("events")
@click.option("--uri", help="Only the events of the asset with this URI.")
@click.option("--dag-id", help="Only the events the tasks of this DAG emitted.")
@click.option("--run-id", help="Only the events the tasks of this run emitted.")
@_LIMIT
@_OFFSET
@output_option
@handle_errors
def list_events(
    uri: str | None, dag_id: str | None, run_id: str | None, limit: int, offset: int, output: str
) -> None:
    """List asset events, newest first.

    \b
    Example:
        headwater assets events --uri s3://bucket/sales.parquet --limit 10
    """
    from headwater.services.assets import list_asset_events
    from headwater.services.context import open_context

    with open_context() as ctx:
        page = list_asset_events(
            ctx, uri=uri, source_dag_id=dag_id, source_run_id=run_id, limit=limit, offset=offset
        )
    if output == "json":
        emit_schema(page)
        return
    # The partition column only when an event of the page has a key (partitioned assets).
    keyed = any(e.partition_key is not None for e in page.items)
    rows = [
        [
            e.id,
            when(e.timestamp),
            e.uri,
            *([e.partition_key or ""] if keyed else []),
            ".".join(p for p in (e.source_dag_id, e.source_run_id, e.source_task_id) if p)
            or (e.created_by or ""),
            json.dumps(e.extra) if e.extra else "",
        ]
        for e in page.items
    ]
    columns = ["id", "timestamp", "uri", *(["partition"] if keyed else []), "source", "extra"]
    console().print(table(f"{page.total} event(s)", columns, rows))


@assets.command("create-event")
@click.argument("uri")
@click.option("--extra", help="A JSON object attached to the event.")
@click.option(
    "--create", is_flag=True, help="Register the asset if no DAG names it yet (else an error)."
)
@click.option(
    "--partition-key",
    help="The partition of a partitioned asset the event updated (2024-01-31, eu).",
)
@output_option
@handle_errors
def create_event(
    uri: str, extra: str | None, create: bool, partition_key: str | None, output: str
) -> None:
    """Record an event of asset URI now: the DAGs scheduled on it run as if a task had
    updated it. The event names you (cli:<OS user>) as its creator.

    \b
    Example:
        headwater assets create-event s3://bucket/sales.parquet --extra '{"rows": 12}'
        headwater assets create-event s3://bucket/daily.parquet --partition-key 2024-01-31
    """
    from headwater.services.assets import AssetEventIn, create_asset_event
    from headwater.services.context import open_context
    from headwater.services.errors import NotFoundError

    body = AssetEventIn(
        uri=uri, extra=parse_json_object(extra, "--extra"), partition_key=partition_key
    )
    with open_context() as ctx:
        try:
            event = create_asset_event(ctx, body, created_by=cli_actor(), create=create)
        except NotFoundError as exc:
            raise NotFoundError(f"{exc} (--create registers it)") from None
    if output == "json":
        emit_schema(event)
    else:
        partition = f" (partition {event.partition_key})" if event.partition_key else ""
        console().print(f"Created event {event.id} of {event.uri}{partition}")
