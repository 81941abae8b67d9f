"""``headwater db``: create, check, reset and clean up the metadata database."""

from __future__ import annotations

import click

from headwater.cli._common import (
    confirm,
    console,
    emit_schema,
    handle_errors,
    output_option,
    table,
    when,
)


@click.group()
def db() -> None:
    """Create, check, reset and clean up the metadata database.

    The database is the `database.url` setting ($HEADWATER_DATABASE_URL); by default a
    SQLite file, $HEADWATER_HOME/headwater.db.
    """


@db.command("migrate")
@output_option
@handle_errors
def migrate_db(output: str) -> None:
    """Create the database's tables, or apply the migrations it lacks.

    Safe to run at any time, and by several processes at once: a database that is up to
    date is left as it is.

    \b
    Example:
        headwater db migrate
        HEADWATER_DATABASE_URL=postgresql+psycopg://hw@db:5432/hw headwater db migrate
    """
    from headwater.services.database import migrate_database
    from headwater.settings import load_settings

    result = migrate_database(load_settings())
    if output == "json":
        emit_schema(result)
        return
    if result.applied:
        console().print(
            f"Applied {', '.join(result.applied)} to {result.database}: {result.description}"
        )
    else:
        console().print(f"Nothing to apply to {result.database}: {result.description}")


@db.command("check")
@output_option
@handle_errors
def check_db(output: str) -> None:
    """Say whether the database is up to date; exit 1 when it is not.

    Exits 1 when migrations are pending, when it was never migrated (or does not exist),
    and when a newer headwater migrated it. Nothing is changed.

    \b
    Example:
        headwater db check || headwater db migrate
    """
    from headwater.services.database import check_database
    from headwater.settings import load_settings

    status = check_database(load_settings())
    if output == "json":
        emit_schema(status)
    else:
        console().print(f"{status.database}: {status.description}")
    if not status.up_to_date:
        raise SystemExit(1)


@db.command("reset")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@output_option
@handle_errors
def reset_db(yes: bool, output: str) -> None:
    """Delete everything stored, drop every table, then migrate from scratch.

    All DAGs, runs, task instances, XComs, pools, variables and connections are lost (log
    files are kept). Asks first unless --yes. Tables of other applications in the same
    database are left alone. A damaged SQLite file is renamed to
    headwater.db.damaged-<time> (with its WAL), and a new database is created.

    \b
    Example:
        headwater db reset --yes
    """
    from headwater.services.database import reset_database, shown_url
    from headwater.settings import load_settings

    settings = load_settings()
    confirm(f"Delete everything in {shown_url(settings.database_url)} and create it again?", yes)
    result = reset_database(settings)
    if output == "json":
        emit_schema(result)
        return
    if result.damaged_file_moved_to is not None:
        console().print(
            f"The database was damaged: moved the damaged file to {result.damaged_file_moved_to}"
            " (delete it once you no longer need it)"
        )
    console().print(f"Reset {result.database}: {result.description}")


@db.command("clean")
@click.option(
    "--older-than",
    required=True,
    metavar="AGE",
    help="Remove what ended more than AGE ago: 90d, 12h, 30m or 2w.",
)
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
@click.option("--dag-id", default=None, help="Only the runs and events of this DAG.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@output_option
@handle_errors
def clean_db(older_than: str, dry_run: bool, dag_id: str | None, yes: bool, output: str) -> None:
    """Remove old runs, with their task instances, attempts, XComs, events and log files.

    Runs that finished (success or failed) more than --older-than ago go, a batch of
    [retention] batch_size runs per transaction, so a running scheduler is never locked out;
    so do older events without a run and old asset events no kept run consumed. Kept: runs
    queued or running, the newest run of each DAG (the scheduler plans the next interval from
    it), DAGs, users, pools, variables and connections. Asks first unless --yes or --dry-run.
    The scheduler can do this daily: [retention] older_than_days.

    \b
    Example:
        headwater db clean --older-than 90d --dry-run
        headwater db clean --older-than 2w --dag-id etl --yes
    """
    from headwater.services.context import open_context
    from headwater.services.retention import CleanRequest, clean_database

    request = CleanRequest(older_than=older_than, dag_id=dag_id, dry_run=True)
    with open_context() as ctx:
        preview = clean_database(ctx, request)
        if dry_run:
            result = preview
        else:
            nothing = not sum(preview.rows.values()) and not preview.log_files
            confirm(
                f"Remove {preview.runs} run(s) that ended before {when(preview.cutoff)}, "
                f"{sum(preview.rows.values())} row(s) in all and {preview.log_files} log "
                "file(s)?",
                yes or nothing,
            )
            result = clean_database(ctx, request.model_copy(update={"dry_run": False}))
    if output == "json":
        emit_schema(result)
        return
    verb = "Would remove" if result.dry_run else "Removed"
    rows = [[name, count] for name, count in result.rows.items()]
    rows.append(["log files", f"{result.log_files} ({result.log_bytes} bytes)"])
    if result.remote_log_folders is not None:
        rows.append(["remote log folders of runs", result.remote_log_folders])
    console().print(
        table(f"{verb}: what ended before {when(result.cutoff)}", ["what", "count"], rows)
    )
