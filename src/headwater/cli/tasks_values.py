"""``headwater tasks xcom`` and ``tasks rendered``: what a task instance left behind, read
from the metadata database and shown redacted (:mod:`headwater.services.xcoms`)."""

from __future__ import annotations

import json

import click

from headwater.cli._common import console, emit_schema, handle_errors, output_option, table

map_index_option = click.option(
    "--map-index", type=int, default=-1, show_default=True, help="Map index of a mapped task."
)


def _shown(value: object) -> str:
    """A value in a table cell: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


@click.command("xcom")
@click.argument("dag_id")
@click.argument("run_id")
@click.argument("task_id")
@click.option("--key", default="return_value", show_default=True, help="Which XCom.")
@map_index_option
@output_option
@handle_errors
def xcom(dag_id: str, run_id: str, task_id: str, key: str, map_index: int, output: str) -> None:
    """Show the XCom KEY that TASK_ID pushed in run RUN_ID (its return value by default).

    Secrets are shown as ***: values under keys named like secrets, and the secrets the
    database holds (secret-named variables, connection passwords). The stored value is
    unchanged; downstream tasks get it whole.

    \b
    Example:
        headwater tasks xcom etl manual__2024-01-31T00:00:00+00:00 extract -o json
    """
    from headwater.services.context import open_context
    from headwater.services.xcoms import get_xcom

    with open_context() as ctx:
        found = get_xcom(ctx, dag_id, run_id, task_id, key=key, map_index=map_index)
    if output == "json":
        emit_schema(found)
        return
    console().print(
        table(
            f"XCom {key} of {task_id} in {run_id}",
            ["key", "value"],
            [[found.key, _shown(found.value)]],
        )
    )


@click.command("rendered")
@click.argument("dag_id")
@click.argument("run_id")
@click.argument("task_id")
@map_index_option
@click.option("--try", "try_number", type=int, help="Which try; default: the latest.")
@output_option
@handle_errors
def rendered(
    dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int | None, output: str
) -> None:
    """Show the rendered template fields of one attempt of TASK_ID (the latest by default).

    Fields named like secrets, and secrets inside any field, are shown as ***.

    \b
    Example:
        headwater tasks rendered etl manual__2024-01-31T00:00:00+00:00 load
    """
    from headwater.services.context import open_context
    from headwater.services.xcoms import get_rendered_fields

    with open_context() as ctx:
        found = get_rendered_fields(
            ctx, dag_id, run_id, task_id, map_index=map_index, try_number=try_number
        )
    if output == "json":
        emit_schema(found)
        return
    console().print(
        table(
            f"Rendered fields of {task_id} in {run_id}, try {found.try_number}",
            ["field", "value"],
            [[name, _shown(value)] for name, value in found.rendered_fields.items()],
        )
    )
