"""``headwater dags deadlines``: the deadlines and SLAs runs missed (registered on the ``dags``
group by :mod:`headwater.cli.dags`)."""

from __future__ import annotations

import click

from headwater.cli._common import console, emit_schema, handle_errors, output_option, table, when

COLUMNS = ("dag_id", "run_id", "task_id", "deadline", "due_at", "missed_at", "reason", "callback")


@click.command("deadlines")
@click.argument("dag_id", required=False)
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=1000),
    default=100,
    show_default=True,
    help="The most misses to show.",
)
@click.option(
    "--offset", type=click.IntRange(min=0), default=0, show_default=True, help="Misses to skip."
)
@output_option
@handle_errors
def deadlines(dag_id: str | None, limit: int, offset: int, output: str) -> None:
    """Show the missed deadlines and SLAs of every DAG, or of DAG_ID, the latest first: the
    run, the task (of an SLA), when it was due and missed, why, and the callback's state.

    A DAG's deadline and a task's sla are checked by the scheduler as time passes;
    each miss is recorded once (docs/deadlines.md).

    \b
    Examples:
        headwater dags deadlines
        headwater dags deadlines daily_report --output json
    """
    from headwater.services.context import open_context
    from headwater.services.deadlines import page_deadline_misses

    with open_context() as ctx:
        page = page_deadline_misses(ctx, dag_id=dag_id, limit=limit, offset=offset)
    if output == "json":
        emit_schema(page)
        return
    if not page.items:
        console().print("No missed deadlines" + (f" of DAG {dag_id}." if dag_id else "."))
        return
    shown = f"{offset + 1}-{offset + len(page.items)} of {page.total}"
    console().print(
        table(
            f"Missed deadlines{f' of {dag_id}' if dag_id else ''} ({shown})",
            [
                "dag_id",
                "run_id",
                "task_id",
                "deadline",
                "due_at",
                "missed_at",
                "reason",
                "callback",
            ],
            [
                [
                    m.dag_id,
                    m.run_id,
                    m.task_id or "",
                    m.name,
                    when(m.due_at),
                    when(m.missed_at),
                    m.reason or "",
                    m.callback_state,
                ]
                for m in page.items
            ],
        )
    )
