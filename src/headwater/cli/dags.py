"""``headwater dags``: list the DAGs of a folder, run one now in this process, and manage
DAGs and their runs in the metadata database (trigger, pause, runs, delete; backfill is in
:mod:`headwater.cli.dags_backfill`)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from headwater.cli._common import (
    confirm,
    console,
    emit_schema,
    folder_option,
    handle_errors,
    load_bag,
    output_option,
    parse_conf,
    parse_date,
    plain,
    require_logs_folder,
    run_id_option,
    table,
    warn_if_paused,
    when,
)
from headwater.cli._given_secrets import given_backends, given_secrets_options
from headwater.cli.dags_backfill import backfill
from headwater.cli.dags_deadlines import deadlines
from headwater.cli.dags_next_execution import next_execution

if TYPE_CHECKING:
    from headwater.services.runs import DagRunOut


@click.group()
def dags() -> None:
    """List, test, trigger, pause and backfill DAGs."""


dags.add_command(backfill)
dags.add_command(next_execution)
dags.add_command(deadlines)


@dags.command("list")
@folder_option
@output_option
@handle_errors
def list_dags(folder: Path | None, output: str) -> None:
    """List every DAG in the folder, and every file that failed to import.

    A file that fails to import does not hide the others: it is listed with its path,
    line and exception. When the metadata database exists and is migrated, two more
    columns come from it: whether each DAG is paused, and the logical date of its next
    scheduled run, paused or not (empty until the scheduler has seen the DAG).

    \b
    Example:
        headwater dags list --folder dags/ --output json
    """
    from headwater.loading.airflow_imports import airflow_dag_files
    from headwater.services.dags import list_folder_dags, stored_dag_states
    from headwater.settings import load_settings

    bag = load_bag(folder)
    stored = stored_dag_states(load_settings())
    listing = list_folder_dags(bag, stored)
    if output == "json":
        emit_schema(listing)
        return
    out = console()
    if listing.dags:
        columns = ["dag_id", "schedule", "tasks", "tags", "file"]
        if stored is not None:
            columns += ["paused", "next run"]
        cells = []
        for d in listing.dags:
            line: list[object] = [d.dag_id, d.schedule, d.tasks, ", ".join(d.tags), d.file]
            if stored is not None:
                known = d.dag_id in stored
                line += [
                    ("yes" if d.paused else "no") if known else "",
                    when(d.next_run) if known else "",
                ]
            cells.append(line)
        out.print(table(None, columns, cells))
    else:
        out.print("No DAGs found.")
        if not bag.airflow_compat and (airflow := airflow_dag_files(bag.folder)):
            out.print(
                f"{len(airflow)} file(s) look like Airflow DAG files (they mention airflow and "
                "dag, not headwater), e.g. ",
                plain(str(airflow[0])),
                ": set core.airflow_compat = true (HEADWATER__CORE__AIRFLOW_COMPAT=true) to run "
                "them, see docs/migrating-from-airflow.md",
                sep="",
            )
    for error in listing.import_errors:
        where = f"{error.file}:{error.line}" if error.line else error.file
        out.print("[red]Import error[/red] ", plain(f"{where}: {error.error}"), sep="")


@dags.command("test")
@click.argument("dag_id")
@click.option("--logical-date", "-d", help="Logical date (ISO); default: now. Sets {{ ds }}.")
@click.option("--conf", "-c", help='JSON object of params for the run, e.g. \'{"region": "us"}\'.')
@run_id_option
@click.option(
    "--partition",
    "partition_key",
    help="Partition key of a partitioned DAG (2024-01-31, eu); a time partition's run "
    "defaults to that partition's start as its logical date.",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="Print only failed tasks and the summary, no logs."
)
@given_secrets_options
@folder_option
@handle_errors
def test_dag(
    dag_id: str,
    logical_date: str | None,
    conf: str | None,
    run_id: str | None,
    partition_key: str | None,
    quiet: bool,
    connections: tuple[str, ...],
    variables: tuple[str, ...],
    folder: Path | None,
) -> None:
    """Run DAG_ID once, now, in this process, and report every task.

    Honours dependencies, trigger rules, retries (with their delays), timeouts and params.
    Prints each task as it ends with its log, then a summary table. Exits 0 when the run
    succeeded and 1 when it failed.

    Tasks find connections and variables given by --conn/--var first, then in the secrets
    backends, then in the metadata database if it exists (read, never created).

    \b
    Example:
        headwater dags test etl --conn warehouse=sqlite:////tmp/w.db --var region=eu
        headwater dags test ml_features --partition 2024-06-01
    """
    from headwater.cli._interrupt import stopped_by_signals
    from headwater.cli._progress import RunProgress, print_summary
    from headwater.dag_test import run_dag_in_process

    started = time.perf_counter()
    parsed_conf = parse_conf(conf)
    when = parse_date(logical_date)
    given = given_backends(connections, variables)
    dag = load_bag(folder).get_dag(dag_id)
    require_logs_folder()
    out = console()
    with (
        stopped_by_signals(),
        RunProgress(out, len(dag.task_dict), show_logs=not quiet) as progress,
    ):
        result = run_dag_in_process(
            dag,
            logical_date=when,
            conf=parsed_conf,
            run_id=run_id,
            partition_key=partition_key,
            observer=progress,
            on_task_start=progress.task_started,
            lookup_first=given,
        )
    print_summary(out, result, started)
    if not result.succeeded:
        raise SystemExit(1)


# -- the metadata database -----------------------------------------------------------------------


def _print_run(run: DagRunOut) -> None:
    console().print(
        table(
            f"Run {run.run_id} of {run.dag_id}",
            ["field", "value"],
            [
                ["state", run.state],
                ["run_type", run.run_type],
                ["logical_date", when(run.logical_date)],
                [
                    "data_interval",
                    f"{when(run.data_interval_start)} .. {when(run.data_interval_end)}",
                ],
                ["start_date", when(run.start_date)],
                ["end_date", when(run.end_date)],
                ["conf", json.dumps(run.conf, default=str)],
                *([["note", run.note]] if run.note else []),
            ],
        )
    )


@dags.command("trigger")
@click.argument("dag_id")
@click.option("--conf", "-c", help='JSON object of params for the run, e.g. \'{"region": "us"}\'.')
@run_id_option
@click.option("--logical-date", "-d", help="Logical date (ISO); default: now.")
@click.option(
    "--partition",
    "partition_key",
    help="Partition key of a partitioned DAG (2024-01-31, eu); its run works on that partition.",
)
@output_option
@handle_errors
def trigger(
    dag_id: str,
    conf: str | None,
    run_id: str | None,
    logical_date: str | None,
    partition_key: str | None,
    output: str,
) -> None:
    """Queue a manual run of DAG_ID for the scheduler.

    The DAG must be in the metadata database (the DAG processor stores it from its file).
    --conf is checked against the DAG's params before anything is stored; a taken run id
    is refused. A paused DAG's run waits until the DAG is unpaused. --partition must be one
    of the DAG's partitions; a time partition's run defaults to that partition's start as
    logical date and its interval as data interval.

    \b
    Example:
        headwater dags trigger etl --conf '{"region": "us"}' --logical-date 2024-01-31
        headwater dags trigger daily_sales --partition 2024-01-31
    """
    from headwater.services.context import open_context
    from headwater.services.runs import TriggerRunRequest, trigger_run

    request = TriggerRunRequest(
        conf=parse_conf(conf),
        run_id=run_id,
        logical_date=parse_date(logical_date),
        partition_key=partition_key,
    )
    with open_context() as ctx:
        run = trigger_run(ctx, dag_id, request)
        if output == "json":
            emit_schema(run)
            return
        console().print(f"Triggered run {run.run_id} of DAG {dag_id}: {run.state}")
        warn_if_paused(ctx, dag_id)


def _set_paused(dag_id: str, paused: bool, output: str) -> None:
    from headwater.services.context import open_context
    from headwater.services.dags import set_paused

    with open_context() as ctx:
        result = set_paused(ctx, dag_id, paused)
    if output == "json":
        emit_schema(result)
    else:
        console().print(f"DAG {result.dag_id} is {'paused' if result.paused else 'unpaused'}")


@dags.command("pause")
@click.argument("dag_id")
@output_option
@handle_errors
def pause(dag_id: str, output: str) -> None:
    """Pause DAG_ID: no new scheduled runs, and no task of it is queued.

    Runs already queued or running wait until it is unpaused. Re-parsing its file never
    unpauses it.

    \b
    Example:
        headwater dags pause etl
    """
    _set_paused(dag_id, True, output)


@dags.command("unpause")
@click.argument("dag_id")
@output_option
@handle_errors
def unpause(dag_id: str, output: str) -> None:
    """Unpause DAG_ID: the scheduler creates its runs and queues its tasks again.

    \b
    Example:
        headwater dags unpause etl
    """
    _set_paused(dag_id, False, output)


RUN_STATES = ["queued", "running", "success", "failed"]
"""The same as ``headwater.services.runs.RUN_STATES``, here so that ``--help`` does not import
the services."""


@dags.command("list-runs")
@click.argument("dag_id")
@click.option("--state", "-s", type=click.Choice(RUN_STATES), help="Only runs in this state.")
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Show at most this many runs (the newest).",
)
@output_option
@handle_errors
def list_runs(dag_id: str, state: str | None, limit: int, output: str) -> None:
    """List the runs of DAG_ID stored in the metadata database, newest logical date first.

    \b
    Example:
        headwater dags list-runs etl --state failed --limit 10 --output json
    """
    from headwater.services.context import open_context
    from headwater.services.runs import list_runs as list_stored_runs

    with open_context() as ctx:
        runs = list_stored_runs(ctx, dag_id, state=state, limit=limit)
    if output == "json":
        emit_schema(runs)
        return
    if not runs:
        console().print(f"No runs of DAG {dag_id}{f' in state {state}' if state else ''}.")
        return
    console().print(
        table(
            f"Runs of {dag_id}",
            ["run_id", "state", "run_type", "logical_date", "partition", "start_date", "end_date"],
            [
                [
                    r.run_id,
                    r.state,
                    r.run_type,
                    when(r.logical_date),
                    r.partition_key or "",
                    when(r.start_date),
                    when(r.end_date),
                ]
                for r in runs
            ],
        )
    )


@dags.command("list-import-errors")
@output_option
@handle_errors
def list_import_errors(output: str) -> None:
    """List the DAG files the DAG processor could not import, as stored in the metadata
    database (an exception, a timeout, a crash), with the line and the message.

    \b
    Example:
        headwater dags list-import-errors --output json
    """
    from headwater.services.context import open_context
    from headwater.services.import_errors import list_import_errors as list_stored_errors

    with open_context() as ctx:
        errors = list_stored_errors(ctx)
    if output == "json":
        emit_schema(errors)
        return
    if not errors:
        console().print("No import errors.")
        return
    console().print(
        table(
            "Import errors",
            ["file", "line", "error", "seen"],
            [[e.filename, e.line, e.message, when(e.created_at)] for e in errors],
        )
    )


@dags.command("state")
@click.argument("dag_id")
@click.argument("run_id")
@output_option
@handle_errors
def run_state(dag_id: str, run_id: str, output: str) -> None:
    """Show the state of run RUN_ID of DAG_ID, and of each of its task instances.

    \b
    Example:
        headwater dags state etl manual__2024-01-31T00:00:00+00:00 -o json
    """
    from headwater.services.context import open_context
    from headwater.services.runs import get_run

    with open_context() as ctx:
        run = get_run(ctx, dag_id, run_id)
    if output == "json":
        emit_schema(run)
        return
    _print_run(run)
    console().print(
        table(
            None,
            ["task", "state", "tries", "error"],
            [
                [ti.label, ti.state, ti.try_number, (ti.error or "")[:80]]
                for ti in run.task_instances
            ],
        )
    )


@dags.command("delete")
@click.argument("dag_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@output_option
@handle_errors
def delete(dag_id: str, yes: bool, output: str) -> None:
    """Delete DAG_ID from the metadata database, with all its runs, task instances,
    XComs and backfills.

    Its file is not touched: if the file still defines the DAG, the DAG processor stores
    it again on its next scan, as a new DAG without runs. Asks first unless --yes.

    \b
    Example:
        headwater dags delete old_etl --yes
    """
    from headwater.services.context import open_context
    from headwater.services.dags import count_runs, delete_dag

    with open_context() as ctx:
        runs = count_runs(ctx, dag_id)
        confirm(f"Delete DAG {dag_id} and its {runs} run(s) from the database?", yes)
        result = delete_dag(ctx, dag_id)
    if output == "json":
        emit_schema(result)
        return
    counts = result.deleted
    console().print(
        f"Deleted DAG {dag_id}: {counts.get('dag_runs', 0)} run(s), "
        f"{counts.get('task_instances', 0)} task instance(s)"
    )
