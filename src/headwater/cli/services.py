"""``headwater scheduler``, ``headwater dag-processor`` and ``headwater standalone``.

These commands are wiring, not data access: they hand the store a service context opened
(:func:`headwater.services.context.open_context`) to the long-running parts that
:mod:`headwater.scheduler.service` builds; what they read or change themselves (the DAGs
loaded, import errors, a triggered run) goes through :mod:`headwater.services`.

Each runs until Ctrl-C (or SIGTERM), then stops cleanly: the scheduler stops its workers
(attempts cut short run again when a scheduler starts next, not counted as retries) and the
DAG processor child process is stopped.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from headwater.cli._common import console, handle_errors, require_logs_folder

if TYPE_CHECKING:
    from headwater.engine.records import DagRun
    from headwater.sentry_reports import Process
    from headwater.services.context import ServiceContext
    from headwater.settings import Settings
    from headwater.web.server import ServerHandle


class _StopFlag:
    """Set by the first SIGINT/SIGTERM; loops check it between steps, and the child
    processes handed to :meth:`adopt` get SIGTERM at once, so that they stop meanwhile."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.children: list[subprocess.Popen[bytes]] = []

    def __call__(self) -> bool:
        return self.event.is_set()

    def adopt(self, child: subprocess.Popen[bytes]) -> None:
        self.children.append(child)
        if self.event.is_set():
            _terminate(child)

    def set(self) -> None:
        self.event.set()
        for child in self.children:
            _terminate(child)


@contextmanager
def _stop_on_signals() -> Iterator[_StopFlag]:
    """The first SIGINT or SIGTERM asks for a clean stop; a second one forces it: every
    process this one started is killed (SIGKILL) and KeyboardInterrupt unwinds the command.
    Whatever happens, nothing this command started outlives it."""
    from headwater.executors.process_tree import descendants, kill_descendants

    flag = _StopFlag()
    # Processes there before the command (when it runs inside another program, as in
    # tests) are not the command's to kill.
    before = set(descendants(os.getpid()))

    def handler(signum: int, frame: object) -> None:
        if flag.event.is_set():
            kill_descendants(os.getpid(), spare=before)
            raise KeyboardInterrupt
        flag.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        kill_descendants(os.getpid(), spare=before)  # the last line of defence: normally none


def _terminate(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.terminate()


def _configure_logging(quiet: bool, log_format: str = "text") -> None:
    """Log lines on stderr. ``json`` (``[logging] format``): one JSON object per line
    (:mod:`headwater.log_format`). Text: rich's columns on a terminal; written to a file or a
    pipe, one plain line per record, never wrapped (rich pads and wraps to the console's
    width)."""
    from headwater.log_format import configure_process_logging

    def text_handler() -> logging.Handler:
        from rich.logging import RichHandler

        err = console(stderr=True)
        handler: logging.Handler
        if err.is_terminal:
            handler = RichHandler(console=err, show_path=False)
            handler.setFormatter(logging.Formatter("%(message)s", datefmt="[%X]"))
        else:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("[%(asctime)s] {%(levelname)s} %(message)s"))
        return handler

    configure_process_logging(
        log_format, level=logging.WARNING if quiet else logging.INFO, text_handler=text_handler
    )


def _start_reporting(settings: Settings, quiet: bool, process: Process) -> None:
    """The process's log as ``[logging] format`` says, and its errors to Sentry when
    ``[sentry] dsn`` is set (a DSN Sentry refuses stops the command here, naming it); a
    remote log folder whose filesystem cannot be loaded is refused here too."""
    from headwater.runtime.remote_logs import check_remote_log_folder
    from headwater.sentry_reports import init_sentry

    _configure_logging(quiet, settings.logging.format)
    init_sentry(settings, process)
    check_remote_log_folder(settings)


_CHILD_STOP_WAIT_S = 5.0
"""How long the DAG processor child may take to stop after SIGTERM (it stops a scan under
way at once) before it is killed, with the files it is importing."""


def _stop_child(child: subprocess.Popen[bytes] | None, *, told: bool) -> None:
    """Stop ``child`` and wait for it; ``told``: it got SIGTERM already (once only: a second
    one would force its stop)."""
    from headwater.executors.process_tree import kill_descendants

    if child is None:
        return
    if not told:
        _terminate(child)
    try:
        child.wait(timeout=_CHILD_STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        kill_descendants(child.pid)
        child.kill()
        child.wait()


def _run_scheduler(
    settings: Settings,
    *,
    with_processor: bool,
    stop: _StopFlag,
    on_run_finished: Callable[[DagRun], None] | None = None,
    with_triggerer: bool = True,
) -> None:
    from headwater.scheduler.service import (
        build_scheduler,
        start_metrics_server,
        start_processor_process,
    )
    from headwater.triggerer.service import start_beside

    # The database is opened (and refused when missing or not migrated) before the DAG
    # processor starts, so that a refusal is said once, by this process.
    scheduler = build_scheduler(settings)
    scheduler.on_run_finished = on_run_finished
    metrics = start_metrics_server(settings, scheduler.store, port=settings.metrics.scheduler_port)
    processor = None
    if with_processor and not stop():
        processor = start_processor_process()
        stop.adopt(processor)
    triggerer = None
    try:
        if with_triggerer and not stop():
            triggerer = start_beside(scheduler, settings, stop)
        scheduler.run(stop)
    finally:
        if triggerer is not None:
            triggerer.stop()
        _stop_child(processor, told=stop())  # a stop signal told it already
        if metrics is not None:
            metrics.stop()


@click.command("scheduler")
@click.option(
    "--dag-processor/--no-dag-processor",
    default=True,
    show_default=True,
    help="Also run the DAG processor (as a child process). Turn it off when "
    "`headwater dag-processor` runs separately.",
)
@click.option(
    "--triggerer/--no-triggerer",
    default=True,
    show_default=True,
    help="Also run a triggerer (in a thread), which runs the triggers of deferred tasks. "
    "Turn it off when `headwater triggerer` runs separately.",
)
@click.option("--quiet", is_flag=True, help="Log warnings and errors only.")
@handle_errors
def scheduler(dag_processor: bool, triggerer: bool, quiet: bool) -> None:
    """Run the scheduler until Ctrl-C: it creates runs on schedule, queues ready tasks to a
    pool of local worker processes (scheduler.parallelism of them) and applies their results.

    The database must be migrated (`headwater db migrate`). By default the DAG processor
    and a triggerer run too, so this one command runs pipelines.

    Example: HEADWATER_DAGS_FOLDER=dags headwater scheduler
    """
    from headwater.settings import load_settings

    with _stop_on_signals() as stop:
        settings = load_settings()
        _start_reporting(settings, quiet, "scheduler")
        require_logs_folder(settings.logs_folder)
        _run_scheduler(settings, with_processor=dag_processor, with_triggerer=triggerer, stop=stop)


@click.command("dag-processor")
@click.option("--once", is_flag=True, help="Scan the DAG folder once and exit.")
@click.option("--quiet", is_flag=True, help="Log warnings and errors only.")
@click.option(
    "--exit-with-parent",
    is_flag=True,
    hidden=True,
    help="Stop when the process that started this one is gone (used by `scheduler`).",
)
@click.option(
    "--parent-pid",
    type=int,
    hidden=True,
    help="With --exit-with-parent: the process to outlive no longer than (default: the parent "
    "at start).",
)
@click.option(
    "--database-checked",
    is_flag=True,
    hidden=True,
    help="The database was found up to date by the process starting this one (`scheduler`).",
)
@handle_errors
def dag_processor(
    once: bool, quiet: bool, exit_with_parent: bool, parent_pid: int | None, database_checked: bool
) -> None:
    """Keep the database's DAGs in step with the DAG folder until Ctrl-C.

    Every scheduler.dag_dir_list_interval_s it imports new and changed files, each in its
    own process and within scheduler.file_parse_timeout_s, stores their DAGs, records
    import errors, and deactivates DAGs whose file is gone.

    Example: headwater dag-processor --once
    """
    from headwater.dag_processing.processor import ScanStopped
    from headwater.scheduler.job_heartbeat import JobHeartbeat
    from headwater.scheduler.service import (
        build_processor,
        run_processor_loop,
        start_metrics_server,
    )
    from headwater.services.context import open_context
    from headwater.settings import load_settings

    # The scheduler says who it is: one killed while this process was starting would
    # otherwise already be gone, and its successor (init) taken for the parent.
    parent = parent_pid if parent_pid is not None else os.getppid()
    with _stop_on_signals() as stop:

        def should_stop() -> bool:
            # A scheduler killed with SIGKILL cannot stop its processor: it notices.
            return stop() or (exit_with_parent and os.getppid() != parent)

        settings = load_settings()
        _configure_logging(quiet, settings.logging.format)
        with open_context(settings, checked=database_checked) as ctx:
            if once:
                processor = build_processor(settings, ctx.store, should_stop=should_stop)
                try:
                    report = processor.scan()
                except ScanStopped:
                    return
                console().print(
                    f"Parsed {len(report.parsed)} file(s), {len(report.errors)} with import "
                    f"errors; {len(report.deleted)} deleted."
                )
                return
            # Its jobs row tells /api/v1/health it is alive: should_stop() is asked all
            # along, during scans as between them, so it beats while the process works.
            job = JobHeartbeat(
                ctx.store, "dag_processor", interval_s=settings.scheduler.heartbeat_interval_s
            )

            def beat_and_should_stop() -> bool:
                job.beat()
                return should_stop()

            processor = build_processor(settings, ctx.store, should_stop=beat_and_should_stop)
            port = settings.metrics.dag_processor_port
            metrics = start_metrics_server(settings, ctx.store, port=port)
            try:
                run_processor_loop(
                    processor,
                    beat_and_should_stop,
                    interval_s=settings.scheduler.dag_dir_list_interval_s,
                )
            finally:
                job.end()
                if metrics is not None:
                    metrics.stop()


@click.command("standalone")
@click.option(
    "--trigger",
    "trigger_ids",
    multiple=True,
    metavar="DAG_ID",
    help="Trigger a run of this DAG once it is loaded, unpausing it (repeatable).",
)
@click.option("--quiet", is_flag=True, help="Log warnings and errors only.")
@click.option("--no-ui", is_flag=True, help="Do not serve the web UI and REST API.")
@click.option(
    "--no-triggerer",
    is_flag=True,
    help="Do not run a triggerer (when `headwater triggerer` runs separately).",
)
@handle_errors
def standalone(trigger_ids: tuple[str, ...], quiet: bool, no_ui: bool, no_triggerer: bool) -> None:
    """Run everything in one command until Ctrl-C: migrate the database, load the DAG
    folder, run the DAG processor, the scheduler and its local workers, a triggerer, and
    serve the web UI and REST API (at api.host:api.port, default http://127.0.0.1:8080).

    SQLite at $HEADWATER_HOME/headwater.db unless HEADWATER_DATABASE_URL says otherwise.
    New DAGs start unpaused unless scheduler.dags_are_paused_at_creation is set. When the
    database has no user yet, an `admin` user is created with a random password, printed
    once and kept in $HEADWATER_HOME/standalone_admin_password.txt (mode 0600).

    Example: HEADWATER_DAGS_FOLDER=examples headwater standalone --trigger news_digest
    """
    from headwater.dag_processing.processor import ScanStopped
    from headwater.loading.airflow_imports import turn_on_for_airflow_folder
    from headwater.scheduler.executor_registry import executor_factory
    from headwater.scheduler.service import build_processor
    from headwater.services.context import open_context
    from headwater.settings import load_settings

    out = console()
    watched: dict[str, str] = {}
    # Signals are caught from the start: a Ctrl-C while the database is migrated lets the
    # migration finish; one during the first scan stops the files' imports.
    with _stop_on_signals() as stop:
        settings = load_settings()
        if airflow_files := turn_on_for_airflow_folder(settings):
            settings = load_settings()
            out.print(
                f"{len(airflow_files)} Airflow DAG file(s) in {settings.dags_folder}: they run "
                "with core.airflow_compat on (see docs/migrating-from-airflow.md)"
            )
        _start_reporting(settings, quiet, "scheduler")
        require_logs_folder(settings.logs_folder)  # before the database is created or migrated
        executor_factory(settings.scheduler.executor)  # an unknown executor: before it too
        server = None
        try:
            with open_context(settings, migrate=True) as ctx:
                if not stop():
                    report = build_processor(settings, ctx.store, should_stop=stop).scan()
                    watched = _show_start(ctx, report.errors, trigger_ids)
                if not stop() and not no_ui:
                    server = _serve_ui(ctx)
        except ScanStopped:
            pass
        try:
            if not stop():
                _run_scheduler(
                    settings,
                    with_processor=True,
                    with_triggerer=not no_triggerer,
                    stop=stop,
                    on_run_finished=lambda run: _report_run(run, watched),
                )
        finally:
            if server is not None:
                server.stop()
    out.print("Stopped.")


ADMIN_PASSWORD_FILE = "standalone_admin_password.txt"


def _serve_ui(ctx: ServiceContext) -> ServerHandle:
    """Start the web UI and API in a thread of this process and print where and how to log
    in: on a database without users, as a new ``admin`` whose password is printed once and
    kept in ``$HEADWATER_HOME/standalone_admin_password.txt`` (as Airflow's standalone does)."""
    from headwater.private_files import write_private_file
    from headwater.services.users import ensure_admin
    from headwater.web.server import serve_in_thread

    settings = ctx.settings
    password_file = settings.home / ADMIN_PASSWORD_FILE
    password = ensure_admin(ctx)
    if password is not None:
        write_private_file(password_file, password + "\n")
    server = serve_in_thread(settings)
    out = console()
    out.print(f"  web UI      {server.url}")
    if password is not None:
        out.print(f"  log in as   admin / {password}  (kept in {password_file})")
    elif password_file.exists():
        out.print(f"  log in as   admin (password in {password_file})")
    else:
        out.print("  log in      with your user (`headwater users create` adds one)")
    return server


def _show_start(
    ctx: ServiceContext, errors: Mapping[str, int], trigger_ids: tuple[str, ...]
) -> dict[str, str]:
    """Print what ``standalone`` runs; trigger the DAGs asked for; their runs by run id."""
    from headwater.services.dags import active_dag_ids
    from headwater.services.database import shown_url
    from headwater.services.import_errors import list_import_errors

    out = console()
    settings = ctx.settings
    dags = active_dag_ids(ctx)
    out.print("[bold]headwater standalone[/bold]  (Ctrl-C stops everything)")
    out.print(f"  home        {settings.home}")
    out.print(f"  database    {shown_url(settings.database_url)}")
    out.print(f"  DAG folder  {settings.dags_folder}  ({len(dags)} DAG(s) loaded)")
    out.print(f"  task logs   {settings.logs_folder}")
    # The files that fail now, whether parsed in this scan or unchanged since an earlier
    # one (their import errors stay stored until the file imports again).
    failed = {e.filename for e in list_import_errors(ctx)} | set(errors)
    if failed:
        out.print(
            f"  [red]{len(failed)} file(s) failed to import[/red]: "
            "see `headwater dags list-import-errors`"
        )
    return {_trigger(ctx, dag_id): dag_id for dag_id in trigger_ids}


def _trigger(ctx: ServiceContext, dag_id: str) -> str:
    """Trigger a run of ``dag_id`` now, unpausing it first; its run id."""
    from headwater.services.dags import is_paused, set_paused
    from headwater.services.runs import trigger_run

    if is_paused(ctx, dag_id):  # asked to run it now: a paused DAG would wait
        set_paused(ctx, dag_id, False)
        console().print(f"  unpaused    {dag_id}")
    run = trigger_run(ctx, dag_id)
    console().print(f"  triggered   {dag_id}: run {run.run_id}")
    return run.run_id


def _report_run(run: DagRun, watched: dict[str, str]) -> None:
    if run.run_id not in watched:
        return
    out = console()
    color = "green" if run.state.value == "success" else "red"
    out.print(
        f"[{color}]Run {run.run_id} of {run.dag_id}: {run.state.value}[/{color}]. "
        f"See it with:\n"
        f"  headwater dags state {run.dag_id} {run.run_id}\n"
        f"  headwater tasks logs {run.dag_id} {run.run_id} TASK_ID\n"
        "headwater keeps running; Ctrl-C stops it."
    )
