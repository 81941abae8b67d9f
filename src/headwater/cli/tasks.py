"""``headwater tasks``: list a DAG's tasks, and run one task now in this process."""

from __future__ import annotations

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
    require_logs_folder,
    table,
    when,
)
from headwater.cli._given_secrets import given_backends, given_secrets_options
from headwater.cli.tasks_values import rendered, xcom

if TYPE_CHECKING:
    from headwater.authoring.operator import BaseOperator
    from headwater.services.logs import AttemptLogOut


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
    """List, test and clear tasks; read their logs, XComs and rendered fields."""


tasks.add_command(xcom)
tasks.add_command(rendered)


@tasks.command("list")
@click.argument("dag_id")
@folder_option
@output_option
@handle_errors
def list_tasks(dag_id: str, folder: Path | None, output: str) -> None:
    """List the tasks of DAG_ID in dependency order."""
    from headwater.services.dags import list_tasks as task_summaries

    rows = task_summaries(load_bag(folder).get_dag(dag_id))
    if output == "json":
        emit_schema(rows)
        return
    console().print(
        table(
            f"DAG {dag_id}",
            ["task_id", "operator", "upstream", "trigger_rule", "retries"],
            [
                [r.task_id, r.operator, ", ".join(r.upstream), r.trigger_rule, r.retries]
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
@given_secrets_options
@folder_option
@handle_errors
def test_task(
    dag_id: str,
    task_id: str,
    map_index: int,
    logical_date: str | None,
    conf: str | None,
    connections: tuple[str, ...],
    variables: tuple[str, ...],
    folder: Path | None,
) -> None:
    """Run one attempt of TASK_ID of DAG_ID now, ignoring its upstream tasks.

    Values it would pull from upstream tasks are missing (None), so a task mapped over an
    upstream task's output cannot run alone. Prints the task's log; exits 0 when it
    succeeded or was skipped, 1 when it failed. It is never retried: a failed attempt with
    retries left ends up_for_retry (its log says "Marking for retry" and on_retry_callback
    runs). Connections and variables given by --conn/--var come before every other source.
    """
    from headwater.cli._interrupt import stopped_by_signals
    from headwater.cli._progress import RunProgress, print_summary
    from headwater.dag_test import run_task_in_process

    started = time.perf_counter()
    given = given_backends(connections, variables)
    dag = load_bag(folder).get_dag(dag_id)
    task = dag.get_task(task_id)
    _check_runs_alone(dag_id, task)
    require_logs_folder()
    with stopped_by_signals():
        result = run_task_in_process(
            dag,
            task_id,
            # -1 picks the first instance of a mapped task.
            map_index=max(map_index, 0) if task.is_mapped else map_index,
            logical_date=parse_date(logical_date),
            conf=parse_conf(conf),
            lookup_first=given,
        )
    out = console()
    progress = RunProgress(out, 1, not_retried="not retried: `tasks test` runs one attempt")
    for ti in result.task_instances:
        if ti.try_number:
            progress.task_finished(ti)
    print_summary(out, result, started)
    if not result.succeeded:
        raise SystemExit(1)


# -- the metadata database -----------------------------------------------------------------------


@tasks.command("clear")
@click.argument("dag_id")
@click.argument("run_id")
@click.argument("task_ids", metavar="TASK_ID...", nargs=-1, required=True)
@click.option("--downstream", "-d", is_flag=True, help="Also clear every task downstream.")
@click.option("--upstream", "-u", is_flag=True, help="Also clear every task upstream.")
@click.option(
    "--map-index",
    type=int,
    default=None,
    help="Only this map index of the named (mapped) tasks; their relatives keep all theirs.",
)
@click.option(
    "--only-failed", "-f", is_flag=True, help="Only instances that failed or are upstream_failed."
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@output_option
@handle_errors
def clear(
    dag_id: str,
    run_id: str,
    task_ids: tuple[str, ...],
    downstream: bool,
    upstream: bool,
    map_index: int | None,
    only_failed: bool,
    yes: bool,
    output: str,
) -> None:
    """Clear task instances of run RUN_ID so the scheduler runs them again.

    Each cleared instance goes back to state none with its retries reset and its XComs
    deleted; a mapped task expands again. The run goes back to queued. Instances queued
    or running are refused. Clearing an ExternalTaskMarker clears the task it names in
    the other DAG too, with its downstream tasks (their runs are queued again). Lists
    what it will clear and asks first unless --yes.

    \b
    Example:
        headwater tasks clear etl scheduled__2024-01-31T00:00:00+00:00 load --downstream
    """
    from headwater.services.context import open_context
    from headwater.services.task_instances import (
        ClearRequest,
        NothingCleared,
        clear_task_instances,
        task_instances_to_clear,
    )

    request = ClearRequest(
        task_ids=list(task_ids),
        downstream=downstream,
        upstream=upstream,
        only_failed=only_failed,
        map_index=map_index,
        include_dependent_dags=True,
    )
    with open_context() as ctx:
        selected = task_instances_to_clear(ctx, dag_id, run_id, request)
        if not selected:
            if output == "json":
                emit_schema(NothingCleared(dag_id=dag_id, run_id=run_id))
            else:
                console().print("Nothing to clear: no task instance matches.")
            return
        if not yes:
            console(stderr=True).print(
                table(
                    f"Task instances of {run_id} to clear",
                    ["task", "state", "tries"],
                    [
                        [
                            _elsewhere(ti.dag_id, ti.run_id, dag_id, run_id) + ti.label,
                            ti.state,
                            ti.try_number,
                        ]
                        for ti in selected
                    ],
                )
            )
        confirm(f"Clear these {len(selected)} task instance(s)?", yes)
        result = clear_task_instances(ctx, dag_id, run_id, request)
    if output == "json":
        emit_schema(result)
        return
    labels = [
        _elsewhere(k.dag_id or dag_id, k.run_id or run_id, dag_id, run_id) + k.label
        for k in result.cleared
    ]
    console().print(
        f"Cleared {len(labels)} task instance(s) of run {run_id}: "
        f"{', '.join(labels)}. The run is {result.run_state} again."
    )


def _elsewhere(ti_dag_id: str, ti_run_id: str, dag_id: str, run_id: str) -> str:
    """``other_dag/run_id:`` before an instance of another run (cleared through a marker)."""
    return "" if (ti_dag_id, ti_run_id) == (dag_id, run_id) else f"{ti_dag_id}/{ti_run_id}:"


@tasks.command("state")
@click.argument("dag_id")
@click.argument("run_id")
@click.argument("task_id")
@click.option(
    "--map-index", type=int, default=-1, show_default=True, help="Map index of a mapped task."
)
@output_option
@handle_errors
def ti_state(dag_id: str, run_id: str, task_id: str, map_index: int, output: str) -> None:
    """Show the state of one task instance of run RUN_ID, from the metadata database.

    \b
    Example:
        headwater tasks state etl manual__2024-01-31T00:00:00+00:00 load -o json
    """
    from headwater.services.context import open_context
    from headwater.services.task_instances import get_task_instance

    with open_context() as ctx:
        ti = get_task_instance(ctx, dag_id, run_id, task_id, map_index)
    if output == "json":
        emit_schema(ti)
        return
    console().print(
        table(
            f"Task instance {ti.label} of {run_id}",
            ["field", "value"],
            [
                ["state", ti.state],
                ["tries", f"{ti.try_number} of {ti.max_tries}"],
                ["start_date", when(ti.start_date)],
                ["end_date", when(ti.end_date)],
                ["pool", ti.pool],
                ["error", ti.error or ""],
            ],
        )
    )


FOLLOW_POLL_S = 0.5
"""How often ``tasks logs --follow`` looks for new lines and for the attempt's end."""


@tasks.command("logs")
@click.argument("dag_id")
@click.argument("run_id")
@click.argument("task_id")
@click.option(
    "--map-index", type=int, default=-1, show_default=True, help="Map index of a mapped task."
)
@click.option("--try", "try_number", type=int, help="Which try; default: the latest.")
@click.option(
    "--follow", "-F", is_flag=True, help="Keep printing new lines until the attempt ends."
)
@handle_errors
def logs(
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    try_number: int | None,
    follow: bool,
) -> None:
    """Print the log of one attempt of a task instance (the latest try by default).

    With --follow, keeps printing lines as they are written until the attempt has ended;
    on an instance that has not started yet, it waits for its first attempt (or for the
    instance to end without one). A missing log says which tries exist.

    \b
    Example:
        headwater tasks logs etl manual__2024-01-31T00:00:00+00:00 load --try 2
    """
    import codecs
    import sys

    from headwater.services.context import open_context
    from headwater.services.errors import NoAttemptYetError
    from headwater.services.logs import (
        attempt_ended,
        attempt_may_start,
        find_attempt_log,
        read_log_bytes,
    )

    with open_context() as ctx:

        def find() -> AttemptLogOut:
            return find_attempt_log(
                ctx,
                dag_id,
                run_id,
                task_id,
                map_index=map_index,
                try_number=try_number,
                must_exist=not follow,
            )

        while True:  # on an instance not started yet, --follow waits for its first attempt
            may_start = (
                follow
                and try_number is None
                and attempt_may_start(ctx, dag_id, run_id, task_id, map_index)
            )
            try:
                found = find()
                break
            except NoAttemptYetError:
                if not may_start:
                    raise
            time.sleep(FOLLOW_POLL_S)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        position = 0

        def pump() -> None:  # the local file, or the remote copy of another machine's
            nonlocal position
            while data := read_log_bytes(ctx, found, position)[0]:
                position += len(data)
                sys.stdout.write(decoder.decode(data))
                sys.stdout.flush()

        pump()
        if follow:
            while not attempt_ended(ctx, found):
                time.sleep(FOLLOW_POLL_S)
                pump()
            pump()  # what was written between the last read and the end
        tail = decoder.decode(b"", final=True)
        if tail:
            sys.stdout.write(tail)
