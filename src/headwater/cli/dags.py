"""``headwater dags``: list the DAGs of a folder, run one now in this process, and manage
DAGs and their runs in the metadata database (trigger, pause, runs, delete; backfill is in
:mod:`headwater.cli.dags_backfill`)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from headwater.cli._common import (
    console,
    emit_json,
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
)
from headwater.cli.dags_backfill import backfill


@click.group()
def dags() -> None:
    """List, test, trigger, pause and backfill DAGs."""


dags.add_command(backfill)


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
    from headwater.cli._store import iso, stored_dags_if_migrated, when

    bag = load_bag(folder)
    stored = stored_dags_if_migrated()
    rows: list[dict[str, Any]] = []
    for dag in sorted(bag.dags.values(), key=lambda d: d.dag_id):
        row = (stored or {}).get(dag.dag_id)
        rows.append(
            {
                "dag_id": dag.dag_id,
                "file": str(bag.files[dag.dag_id]),
                "schedule": dag.schedule.description,
                "tasks": len(dag.task_dict),
                "tags": dag.tags,
                "paused": row.is_paused if row is not None else None,
                "next_run": iso(row.next_dagrun_logical_date) if row is not None else None,
            }
        )
    errors = [
        {"file": e.path, "line": e.line, "error": e.message.splitlines()[0], "detail": e.message}
        for e in bag.import_errors
    ]
    if output == "json":
        emit_json({"dags": rows, "import_errors": errors})
        return
    out = console()
    if rows:
        columns = ["dag_id", "schedule", "tasks", "tags", "file"]
        cells = [
            [r["dag_id"], r["schedule"], r["tasks"], ", ".join(r["tags"]), r["file"]] for r in rows
        ]
        if stored is not None:
            columns += ["paused", "next run"]
            for r, line in zip(rows, cells, strict=True):
                row = stored.get(r["dag_id"])
                line += [
                    ("yes" if r["paused"] else "no") if row is not None else "",
                    when(row.next_dagrun_logical_date) if row is not None else "",
                ]
        out.print(table(None, columns, cells))
    else:
        out.print("No DAGs found.")
    for error in errors:
        where = f"{error['file']}:{error['line']}" if error["line"] else error["file"]
        out.print("[red]Import error[/red] ", plain(f"{where}: {error['error']}"), sep="")


@dags.command("test")
@click.argument("dag_id")
@click.option("--logical-date", "-d", help="Logical date (ISO); default: now. Sets {{ ds }}.")
@click.option("--conf", "-c", help='JSON object of params for the run, e.g. \'{"region": "us"}\'.')
@run_id_option
@click.option(
    "--quiet", "-q", is_flag=True, help="Print only failed tasks and the summary, no logs."
)
@folder_option
@handle_errors
def test_dag(
    dag_id: str,
    logical_date: str | None,
    conf: str | None,
    run_id: str | None,
    quiet: bool,
    folder: Path | None,
) -> None:
    """Run DAG_ID once, now, in this process, and report every task.

    Honours dependencies, trigger rules, retries (with their delays), timeouts and params.
    Prints each task as it ends with its log, then a summary table. Exits 0 when the run
    succeeded and 1 when it failed.
    """
    from headwater.cli._interrupt import stopped_by_signals
    from headwater.cli._progress import RunProgress, print_summary
    from headwater.dag_test import run_dag_in_process

    started = time.perf_counter()
    parsed_conf = parse_conf(conf)
    when = parse_date(logical_date)
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
            observer=progress,
            on_task_start=progress.task_started,
        )
    print_summary(out, result, started)
    if not result.succeeded:
        raise SystemExit(1)


# -- the metadata database -----------------------------------------------------------------------


def _print_run(run: Any) -> None:
    from headwater.cli._store import when

    console().print(
        table(
            f"Run {run.run_id} of {run.dag_id}",
            ["field", "value"],
            [
                ["state", run.state.value],
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
@output_option
@handle_errors
def trigger(
    dag_id: str, conf: str | None, run_id: str | None, logical_date: str | None, output: str
) -> None:
    """Queue a manual run of DAG_ID for the scheduler.

    The DAG must be in the metadata database (the DAG processor stores it from its file).
    --conf is checked against the DAG's params before anything is stored; a taken run id
    is refused. A paused DAG's run waits until the DAG is unpaused.

    \b
    Example:
        headwater dags trigger etl --conf '{"region": "us"}' --logical-date 2024-01-31
    """
    from headwater.cli._store import now, open_store, run_json, warn_if_paused
    from headwater.operations import trigger_run

    parsed_conf = parse_conf(conf)
    when = parse_date(logical_date)
    with open_store() as store:
        run = trigger_run(
            store, dag_id, conf=parsed_conf, run_id=run_id, logical_date=when, now=now()
        )
        if output == "json":
            emit_json(run_json(run))
            return
        console().print(f"Triggered run {run.run_id} of DAG {dag_id}: {run.state.value}")
        warn_if_paused(store, dag_id)


def _set_paused(dag_id: str, paused: bool, output: str) -> None:
    from headwater.cli._store import open_store
    from headwater.operations import set_paused

    with open_store() as store:
        row = set_paused(store, dag_id, paused)
    if output == "json":
        emit_json({"dag_id": row.dag_id, "paused": row.is_paused})
    else:
        console().print(f"DAG {row.dag_id} is {'paused' if row.is_paused else 'unpaused'}")


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
    from headwater.cli._store import open_store, run_json, when
    from headwater.operations._stored import dag_row

    with open_store() as store:
        runs = store.list_dag_runs(dag_id, states=[state] if state else None, limit=limit)
        if not runs and not store.list_dag_runs(dag_id, limit=1):
            dag_row(store, dag_id)  # an unknown DAG is an error, a DAG without runs is not
    runs.reverse()
    if output == "json":
        emit_json([run_json(run) for run in runs])
        return
    if not runs:
        console().print(f"No runs of DAG {dag_id}{f' in state {state}' if state else ''}.")
        return
    console().print(
        table(
            f"Runs of {dag_id}",
            ["run_id", "state", "run_type", "logical_date", "start_date", "end_date"],
            [
                [
                    r.run_id,
                    r.state.value,
                    r.run_type,
                    when(r.logical_date),
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
    from headwater.cli._store import open_store, when

    with open_store() as store:
        errors = store.list_import_errors()
    if output == "json":
        emit_json(
            [
                {
                    "filename": e.filename,
                    "line": e.line,
                    "message": e.message,
                    "created_at": e.created_at.isoformat(),
                }
                for e in errors
            ]
        )
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
    from headwater.cli._store import open_store, run_json, ti_json
    from headwater.operations._stored import require_run

    with open_store() as store:
        run = require_run(store, dag_id, run_id)
        tis = store.get_task_instances(dag_id, run_id)
    if output == "json":
        emit_json({**run_json(run), "task_instances": [ti_json(ti) for ti in tis]})
        return
    _print_run(run)
    console().print(
        table(
            None,
            ["task", "state", "tries", "error"],
            [[ti.key.label, ti.state.value, ti.try_number, (ti.error or "")[:80]] for ti in tis],
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
    from headwater.cli._store import confirm, open_store
    from headwater.operations import delete_dag
    from headwater.operations._stored import dag_row

    with open_store() as store:
        dag_row(store, dag_id)
        runs = len(store.list_dag_runs(dag_id))
        confirm(f"Delete DAG {dag_id} and its {runs} run(s) from the database?", yes)
        counts = delete_dag(store, dag_id)
    if output == "json":
        emit_json({"dag_id": dag_id, "deleted": counts})
        return
    console().print(
        f"Deleted DAG {dag_id}: {counts.get('dag_runs', 0)} run(s), "
        f"{counts.get('task_instances', 0)} task instance(s)"
    )
