"""``headwater jobs``: the long-running processes and their heartbeats (schedulers,
triggerers, DAG processors, workers); ``jobs check`` for health probes."""

from __future__ import annotations

import click

from headwater.cli._common import console, emit_schema, handle_errors, output_option, table

_TYPES = ["scheduler", "triggerer", "dag_processor", "worker"]


@click.group()
def jobs() -> None:
    """List jobs and check that live ones are there (health probes)."""


@jobs.command("check")
@click.option("--job-type", type=click.Choice(_TYPES), help="The kind of job; default: any.")
@click.option("--hostname", help="Only jobs on this host; default: any host.")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="How many of the newest jobs to look at; 0: all of them.",
)
@click.option(
    "--allow-multiple",
    is_flag=True,
    help="Pass when several live jobs are found (else more than one fails).",
)
@output_option
@handle_errors
def check(
    job_type: str | None, hostname: str | None, limit: int, allow_multiple: bool, output: str
) -> None:
    """Exit 0 when a live job of --job-type is found, 1 with a message otherwise.

    A job is alive while it has not ended and its heartbeat is younger than
    scheduler.task_heartbeat_timeout_s (triggerer.lease_s for a triggerer). As Airflow's
    `airflow jobs check`: with --limit above 1, several live jobs pass only with
    --allow-multiple.

    \b
    Examples:
        headwater jobs check --job-type scheduler
        headwater jobs check --job-type scheduler --limit 0 --allow-multiple -o json
    """
    from headwater.services.context import open_context
    from headwater.services.jobs import check_jobs

    with open_context() as ctx:
        result = check_jobs(
            ctx,
            job_type=job_type,
            hostname=hostname,
            limit=limit,
            allow_multiple=allow_multiple,
        )
    if output == "json":
        emit_schema(result)
    elif result.ok:
        console().print(result.message)
    if not result.ok:
        console(stderr=True).print(result.message)
        raise SystemExit(1)


@jobs.command("list")
@click.option("--job-type", type=click.Choice(_TYPES), help="The kind of job; default: any.")
@click.option("--hostname", help="Only jobs on this host; default: any host.")
@click.option("--alive", "alive_only", is_flag=True, help="Only the live jobs.")
@output_option
@handle_errors
def list_jobs(job_type: str | None, hostname: str | None, alive_only: bool, output: str) -> None:
    """List jobs, newest heartbeat first: kind, host, pid, last heartbeat, alive.

    \b
    Example:
        headwater jobs list --job-type scheduler --alive
    """
    from headwater.services.context import open_context
    from headwater.services.jobs import list_jobs as list_stored

    with open_context() as ctx:
        found = list_stored(ctx, job_type=job_type, hostname=hostname, alive_only=alive_only)
    if output == "json":
        emit_schema(found)
        return
    columns = ["id", "kind", "hostname", "pid", "started_at", "heartbeat_at", "ended_at", "alive"]
    rows = [[getattr(job, c) for c in columns] for job in found]
    console().print(table(None, columns, rows))
