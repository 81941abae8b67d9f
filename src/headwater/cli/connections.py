"""``headwater connections``: where and how tasks reach other systems (``conn.<id>``)."""

from __future__ import annotations

import json

import click

from headwater.cli._common import (
    console,
    emit_schema,
    handle_errors,
    output_option,
    parse_json_object,
    table,
)


@click.group()
def connections() -> None:
    """Add, list and delete connections (passwords are never printed)."""


@connections.command("add")
@click.argument("conn_id")
@click.option("--uri", help="All of it as a URI: type://login:password@host:port/schema?k=v.")
@click.option("--type", "conn_type", help="Connection type (postgresql, http, ...).")
@click.option("--host", help="Host name.")
@click.option("--login", help="User name.")
@click.option("--password", help="Password.")
@click.option("--schema", help="Schema or database.")
@click.option("--port", type=click.IntRange(1, 65535), help="Port.")
@click.option("--extra", help="JSON object of extra settings.")
@output_option
@handle_errors
def add(
    conn_id: str,
    uri: str | None,
    conn_type: str | None,
    host: str | None,
    login: str | None,
    password: str | None,
    schema: str | None,
    port: int | None,
    extra: str | None,
    output: str,
) -> None:
    """Add connection CONN_ID, from --uri or from --type and the other fields.

    An existing CONN_ID is refused: delete it first to replace it.

    \b
    Example:
        headwater connections add warehouse --uri 'postgresql://etl:s3cret@db:5432/reports'
        headwater connections add api --type http --host api.example.com --extra '{"v": 2}'
    """
    from headwater.services.connections import (
        ConnectionIn,
        add_connection,
        connection_from_uri,
    )
    from headwater.services.context import open_context

    fields = {"--host": host, "--login": login, "--password": password, "--schema": schema}
    if uri is not None:
        given = [name for name, value in {**fields, "--type": conn_type}.items() if value]
        if port is not None:
            given.append("--port")
        if extra is not None:
            given.append("--extra")
        if given:
            raise click.UsageError(f"--uri cannot be combined with {', '.join(given)}")
        connection = connection_from_uri(conn_id, uri)
    elif conn_type is None:
        raise click.UsageError("give --uri, or --type with the other fields")
    else:
        connection = ConnectionIn(
            conn_id=conn_id,
            conn_type=conn_type,
            host=host,
            login=login,
            password=password,
            schema=schema,
            port=port,
            extra=parse_json_object(extra, "--extra"),
        )
    with open_context() as ctx:
        added = add_connection(ctx, connection)
    if output == "json":
        emit_schema(added)
    else:
        console().print(f"Added connection {conn_id} ({connection.conn_type})")


@connections.command("list")
@output_option
@handle_errors
def list_connections(output: str) -> None:
    """List every connection, without passwords (extras that look secret show ***).

    \b
    Example:
        headwater connections list -o json
    """
    from headwater.services.connections import list_connections as list_stored
    from headwater.services.context import open_context

    with open_context() as ctx:
        connections = list_stored(ctx)
    if output == "json":
        emit_schema(connections)
        return
    data = [c.to_json() for c in connections]
    if not data:
        console().print("No connections.")
        return
    columns = ["conn_id", "conn_type", "host", "port", "schema", "login"]
    console().print(
        table(
            None,
            [*columns, "password", "extra"],
            [
                [
                    *(d[c] for c in columns),
                    "***" if d["has_password"] else "",
                    json.dumps(d["extra"]) if d["extra"] else "",
                ]
                for d in data
            ],
        )
    )


@connections.command("delete")
@click.argument("conn_id")
@output_option
@handle_errors
def delete(conn_id: str, output: str) -> None:
    """Delete connection CONN_ID.

    \b
    Example:
        headwater connections delete warehouse
    """
    from headwater.services.connections import delete_connection
    from headwater.services.context import open_context

    with open_context() as ctx:
        deleted = delete_connection(ctx, conn_id)
    if output == "json":
        emit_schema(deleted)
    else:
        console().print(f"Deleted connection {conn_id}")
