"""``headwater airflow``: commands for teams moving from Airflow. ``check`` tells, for every
file of an Airflow DAG folder, whether it runs on headwater unchanged and, if not, what stops
it and where (the logic is :mod:`headwater.services.airflow_check`; this module renders it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from headwater.cli._common import console, emit_json, handle_errors, output_option, plain, table

if TYPE_CHECKING:
    from headwater.services.airflow_check import FileCheck, FolderCheck


@click.group()
def airflow() -> None:
    """Moving from Airflow: check which DAG files run on headwater unchanged."""


@airflow.command("check")
@click.argument("dag_folder", type=click.Path(exists=True, path_type=Path), metavar="DAG_FOLDER")
@click.option(
    "--run",
    "run_dags",
    is_flag=True,
    help="Also run every DAG that loads, once, as `headwater dags test` does.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds each DAG's run may take with --run (a longer one is stopped: a timeout).",
)
@output_option
@handle_errors
def check(dag_folder: Path, run_dags: bool, timeout: float, output: str) -> None:
    """Tell, for every DAG file under DAG_FOLDER, whether it loads on headwater unchanged.

    The compatibility layer is on for the check, whatever core.airflow_compat says. The
    files are those that mention "dag" and "airflow" (Airflow's rule) or "dag" and
    "headwater". Each is imported on its own, in a child process within
    scheduler.file_parse_timeout_s, as the DAG processor imports it. A file that does not
    load is shown with the line that stops it and what it is: an Airflow module or name
    headwater does not provide, an unknown operator argument, a naive date, a syntax
    error, an exception raised at import. Names Airflow itself deprecated (a file that uses
    schedule_interval=, DummyOperator, airflow.operators.bash_operator) are listed as
    notes at their lines, with what to use instead; notes do not fail the check.

    With --run, every DAG that loaded is then run once (in a child process, within
    --timeout) and reported as succeeded or failed, with the first failed task and its
    error.

    Exits 0 when every file loads (and with --run every DAG succeeded), 1 otherwise or
    when no DAG file is found.

    \b
    Example:
        headwater airflow check ~/airflow/dags
        headwater airflow check ~/airflow/dags --run --timeout 120 --output json
    """
    from headwater.services.airflow_check import check_folder
    from headwater.settings import load_settings

    settings = load_settings()
    result = check_folder(
        dag_folder,
        run=run_dags,
        parse_timeout_s=settings.scheduler.file_parse_timeout_s,
        run_timeout_s=timeout,
    )
    if output == "json":
        emit_json(result.to_json())
    else:
        _print(result, dag_folder)
    if not result.files or not result.ok:
        raise SystemExit(1)


def _print(result: FolderCheck, folder: Path) -> None:
    out = console()
    if not result.files:
        out.print(
            plain(
                f"No DAG files found in {folder}: no .py file there mentions both "
                '"dag" and "airflow" (or "dag" and "headwater").'
            )
        )
        return
    if result.real_airflow:
        out.print(
            "Note: a real Airflow is installed in this environment; the files' airflow "
            "imports went to it, not to headwater."
        )
    rows: list[list[Any]] = []
    for check in result.files:
        rows.extend(_rows(check, folder))
    out.print(table(None, ["file", "status", "DAGs", "line", "reason"], rows))
    out.print(plain(result.summary()))


def _shown_path(path: str, folder: Path) -> str:
    try:
        relative = Path(path).relative_to(folder.absolute())
    except ValueError:
        return path
    return str(relative) if str(relative) != "." else path


def _rows(check: FileCheck, folder: Path) -> list[list[Any]]:
    """The file's rows: one per problem (or one saying it loads), one per note, then one per
    DAG run."""
    name = _shown_path(check.path, folder)
    dags = ", ".join(check.dags)
    rows: list[list[Any]] = []
    if check.loads:
        rows.append([name, "loads", dags, "", ""])
    for problem in check.problems:
        reason = problem.reason
        if problem.source:
            reason += f"\n{problem.source}"
        rows.append([name, "fails", dags, problem.line or "", reason])
        name = dags = ""  # the file once
    for note in check.notes:
        text = note.message + (f"\n{note.source}" if note.source else "")
        rows.append(["", "note", "", note.line or "", text])
    for run in check.runs:
        status = "succeeded" if run.succeeded else run.state
        reason = ""
        if run.failed_task:
            reason = f"task {run.failed_task}: {run.error or 'failed'}"
        elif run.error:
            reason = run.error
        rows.append(["", status, run.dag_id, "", reason])
    return rows
