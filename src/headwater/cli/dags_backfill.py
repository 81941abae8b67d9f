"""``headwater dags backfill``: run a DAG for every schedule interval in a range of logical
dates (registered on the ``dags`` group by :mod:`headwater.cli.dags`)."""

from __future__ import annotations

from datetime import datetime

import click

from headwater.cli._common import (
    console,
    emit_schema,
    handle_errors,
    output_option,
    parse_date,
    table,
    warn_if_paused,
    when,
)


def _required_date(text: str, option: str) -> datetime:
    value = parse_date(text, option)
    if value is None:
        raise click.BadParameter("give an ISO date like 2024-01-31", param_hint=option)
    return value


@click.command("backfill")
@click.argument("dag_id")
@click.option("--start", "start_text", help="First logical date (ISO), included.")
@click.option("--end", "end_text", help="Last logical date (ISO), included.")
@click.option(
    "--partitions",
    help="Instead of --start/--end, partitions of a partitioned DAG: FIRST..LAST or KEY,KEY "
    "(2024-01-01..2024-01-31, eu,us).",
)
@click.option(
    "--reprocess",
    type=click.Choice(["failed", "none", "all"]),
    default="failed",
    show_default=True,
    help="Which existing runs to run again: failed ones, none, or all finished ones.",
)
@click.option(
    "--max-active-runs",
    type=click.IntRange(min=1),
    help="Most runs of this backfill running at once; default: the DAG's max_active_runs.",
)
@click.option(
    "--run-backwards",
    is_flag=True,
    help="Start the newest logical dates first (the scheduler's order within the backfill).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@output_option
@handle_errors
def backfill(
    dag_id: str,
    start_text: str | None,
    end_text: str | None,
    partitions: str | None,
    reprocess: str,
    max_active_runs: int | None,
    run_backwards: bool,
    dry_run: bool,
    output: str,
) -> None:
    """Run DAG_ID for every schedule interval whose logical date is in [--start, --end].

    A logical date without a run gets a new `backfill__<date>` run; an existing run is
    run again when --reprocess asks for it (failed: failed runs; all: failed and
    successful ones; none: never) and skipped otherwise, as is a run queued or running.
    The scheduler runs them, at most --max-active-runs at once, oldest first (newest first
    with --run-backwards). Running the same backfill
    again creates nothing new. --dry-run prints each logical date and its action.

    A partitioned DAG may be backfilled by --partitions instead: one run per partition
    key (`backfill__<key>__<logical date>`), decided as above by the run that works on that
    partition; a time partition not over yet is skipped.

    \b
    Example:
        headwater dags backfill etl --start 2024-01-01 --end 2024-01-31 --dry-run
        headwater dags backfill etl --start 2024-01-01 --end 2024-01-31 --reprocess all
        headwater dags backfill daily_sales --partitions 2024-01-01..2024-01-31
        headwater dags backfill regional --partitions eu,us --dry-run
    """
    from headwater.services.backfills import BackfillRequest, plan_backfill, run_backfill
    from headwater.services.context import open_context

    start = end = None
    if partitions is not None:
        if start_text is not None or end_text is not None:
            raise click.UsageError("give --partitions or --start/--end, not both")
    else:
        if start_text is None or end_text is None:
            missing = "--start" if start_text is None else "--end"
            raise click.UsageError(f"Missing option '{missing}' (or give --partitions instead)")
        start, end = _required_date(start_text, "--start"), _required_date(end_text, "--end")
    request = BackfillRequest(
        start=start,
        end=end,
        partitions=partitions,
        reprocess=reprocess,
        max_active_runs=max_active_runs,
        run_backwards=run_backwards,
    )
    with open_context() as ctx:
        if dry_run:
            plan = plan_backfill(ctx, dag_id, request)
            if output == "json":
                emit_schema(plan)
                return
            partition_column = ["partition"] if partitions is not None else []
            console().print(
                table(
                    f"Backfill plan for {dag_id} (dry run: nothing changed)",
                    ["logical_date", *partition_column, "action", "run_id", "state", "why"],
                    [
                        [
                            when(i.logical_date),
                            *([i.partition_key or ""] if partition_column else []),
                            i.action,
                            i.run_id,
                            i.state or "",
                            i.reason,
                        ]
                        for i in plan.items
                    ],
                )
            )
            return
        result = run_backfill(ctx, dag_id, request)
        if output == "json":
            emit_schema(result)
            return
        out = console()
        if result.backfill_id is None:
            what = "partition(s)" if partitions is not None else "logical date(s)"
            out.print(f"Nothing to backfill: all {len(result.items)} {what} skipped.")
            return
        out.print(
            f"Backfill {result.backfill_id} of {dag_id}: {len(result.created)} run(s) created, "
            f"{len(result.rerun)} rerun, {len(result.skipped)} skipped; at most "
            f"{result.max_active_runs} running at once"
            + (", newest first." if result.run_backwards else ".")
        )
        warn_if_paused(ctx, dag_id)
