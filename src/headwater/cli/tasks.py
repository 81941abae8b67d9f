"""``headwater tasks``: list a DAG's tasks, and run one task now in this process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from headwater.authoring.operator import BaseOperator


def _operator_name(task: BaseOperator) -> str:
    """The name users know a task's operator by: ``@task``, ``BashOperator (mapped)``..."""
    from headwater.authoring.mapping import MappedOperator

    cls = task.operator_class if isinstance(task, MappedOperator) else type(task)
    name = cls.custom_operator_name or cls.__name__
    return f"{name} (mapped)" if task.is_mapped else name


def _check_runs_alone(dag_id: str, task: BaseOperator) -> None:
    """Refuse a task mapped over upstream outputs: without them it has no instances."""
    from headwater.authoring.mapping import MappedOperator
    from headwater.exceptions import HeadwaterError

    sources = task.source_task_ids() if isinstance(task, MappedOperator) else []
    if sources:
        names = f"task{'s' if len(sources) > 1 else ''} {', '.join(map(repr, sources))}"
        raise HeadwaterError(
            f"task {task.task_id!r} is mapped over the output of upstream {names}, which "
            f"`tasks test` does not run; run the whole DAG with `headwater dags test {dag_id}`"
        )


@click.group()
def tasks() -> None:
    """List and test single tasks."""


@tasks.command("list")
@click.argument("dag_id")
@folder_option
@output_option
@handle_errors
def list_tasks(dag_id: str, folder: Path | None, output: str) -> None:
    """List the tasks of DAG_ID in dependency order."""
    dag = load_bag(folder).get_dag(dag_id)
    rows: list[dict[str, Any]] = [
        {
            "task_id": t.task_id,
            "operator": _operator_name(t),
            "upstream": list(t.upstream_task_ids),
            "trigger_rule": t.trigger_rule.value,
            "retries": t.retries,
        }
        for t in dag.topological_sort()
    ]
    if output == "json":
        emit_json(rows)
        return
    console().print(
        table(
            f"DAG {dag_id}",
            ["task_id", "operator", "upstream", "trigger_rule", "retries"],
            [
                [
                    r["task_id"],
                    r["operator"],
                    ", ".join(r["upstream"]),
                    r["trigger_rule"],
                    r["retries"],
                ]
                for r in rows
            ],
        )
    )


@tasks.command("test")
@click.argument("dag_id")
@click.argument("task_id")
@click.option(
    "--map-index", type=int, default=-1, show_default=True, help="Map index of a mapped task."
)
@click.option("--logical-date", "-d", help="Logical date (ISO); default: now.")
@click.option("--conf", "-c", help="JSON object of params for the run.")
@folder_option
@handle_errors
def test_task(
    dag_id: str,
    task_id: str,
    map_index: int,
    logical_date: str | None,
    conf: str | None,
    folder: Path | None,
) -> None:
    """Run one attempt of TASK_ID of DAG_ID now, ignoring its upstream tasks.

    Values it would pull from upstream tasks are missing (None), so a task mapped over an
    upstream task's output cannot run alone. Prints the task's log; exits 0 when it
    succeeded or was skipped, 1 when it failed.
    """
    from headwater.cli._progress import RunProgress, print_summary
    from headwater.dag_test import run_task_in_process

    started = time.perf_counter()
    dag = load_bag(folder).get_dag(dag_id)
    task = dag.get_task(task_id)
    _check_runs_alone(dag_id, task)
    result = run_task_in_process(
        dag,
        task_id,
        # -1 picks the first instance of a mapped task.
        map_index=max(map_index, 0) if task.is_mapped else map_index,
        logical_date=parse_date(logical_date),
        conf=parse_conf(conf),
    )
    out = console()
    progress = RunProgress(out, 1)
    for ti in result.task_instances:
        if ti.try_number:
            progress.task_finished(ti)
    print_summary(out, result, time.perf_counter() - started)
    if not result.succeeded:
        raise SystemExit(1)
