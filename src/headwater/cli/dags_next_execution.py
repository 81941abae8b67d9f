"""``headwater dags next-execution``: the next scheduled runs of a DAG, as its timetable plans
them (registered on the ``dags`` group by :mod:`headwater.cli.dags`)."""

from __future__ import annotations

import click

from headwater.cli._common import console, emit_schema, handle_errors, output_option, table, when


@click.command("next-execution")
@click.argument("dag_id")
@click.option(
    "--num-executions",
    "-n",
    "count",
    type=click.IntRange(min=1, max=1000),
    default=1,
    show_default=True,
    help="How many of the next runs to show.",
)
@output_option
@handle_errors
def next_execution(dag_id: str, count: int, output: str) -> None:
    """Show the next scheduled runs of DAG_ID: logical date, data interval, and when the
    scheduler creates each.

    The DAG is read from the metadata database, as the scheduler sees it; the first run is
    the one the scheduler creates next. A DAG without a schedule has none.

    \b
    Example:
        headwater dags next-execution etl -n 5
    """
    from headwater.services.context import open_context
    from headwater.services.next_runs import next_runs

    with open_context() as ctx:
        planned = next_runs(ctx, dag_id, count)
    if output == "json":
        emit_schema(planned)
        return
    if planned.paused:
        console(stderr=True).print(
            f"Note: DAG {dag_id} is paused: no runs are created until it is unpaused."
        )
    if not planned.runs:
        console().print(
            f"DAG {dag_id} has no scheduled runs to come (schedule {planned.schedule})."
        )
        return
    console().print(
        table(
            f"Next runs of {dag_id} ({planned.schedule}: {planned.schedule_description})",
            ["logical_date", "data_interval", "run_after"],
            [
                [
                    when(r.logical_date),
                    f"{when(r.data_interval_start)} .. {when(r.data_interval_end)}",
                    when(r.run_after),
                ]
                for r in planned.runs
            ],
        )
    )
