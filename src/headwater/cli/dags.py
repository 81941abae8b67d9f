"""``headwater dags``: list the DAGs of a folder, and run one now in this process."""

from __future__ import annotations

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
    table,
)


@click.group()
def dags() -> None:
    """List, test and inspect DAGs."""


@dags.command("list")
@folder_option
@output_option
@handle_errors
def list_dags(folder: Path | None, output: str) -> None:
    """List every DAG in the folder, and every file that failed to import.

    A file that fails to import does not hide the others: it is listed with its path,
    line and exception.
    """
    bag = load_bag(folder)
    rows: list[dict[str, Any]] = [
        {
            "dag_id": dag.dag_id,
            "file": str(bag.files[dag.dag_id]),
            "schedule": dag.schedule.description,
            "tasks": len(dag.task_dict),
            "tags": dag.tags,
        }
        for dag in sorted(bag.dags.values(), key=lambda d: d.dag_id)
    ]
    errors = [
        {"file": e.path, "line": e.line, "error": e.message.splitlines()[0], "detail": e.message}
        for e in bag.import_errors
    ]
    if output == "json":
        emit_json({"dags": rows, "import_errors": errors})
        return
    out = console()
    if rows:
        out.print(
            table(
                None,
                ["dag_id", "schedule", "tasks", "tags", "file"],
                [
                    [r["dag_id"], r["schedule"], r["tasks"], ", ".join(r["tags"]), r["file"]]
                    for r in rows
                ],
            )
        )
    else:
        out.print("No DAGs found.")
    for error in errors:
        where = f"{error['file']}:{error['line']}" if error["line"] else error["file"]
        out.print(f"[red]Import error[/red] {where}: {error['error']}")


@dags.command("test")
@click.argument("dag_id")
@click.option("--logical-date", "-d", help="Logical date (ISO); default: now. Sets {{ ds }}.")
@click.option("--conf", "-c", help='JSON object of params for the run, e.g. \'{"region": "us"}\'.')
@click.option("--run-id", help="Run id; default: manual__<logical date>.")
@click.option("--quiet", "-q", is_flag=True, help="Do not print each task's log.")
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
    from headwater.cli._progress import RunProgress, print_summary
    from headwater.dag_test import run_dag_in_process

    started = time.perf_counter()
    parsed_conf = parse_conf(conf)
    when = parse_date(logical_date)
    dag = load_bag(folder).get_dag(dag_id)
    out = console()
    with RunProgress(out, len(dag.task_dict), show_logs=not quiet) as progress:
        result = run_dag_in_process(
            dag,
            logical_date=when,
            conf=parsed_conf,
            run_id=run_id,
            observer=progress,
            on_task_start=progress.task_started,
        )
    print_summary(out, result, time.perf_counter() - started)
    if not result.succeeded:
        raise SystemExit(1)
