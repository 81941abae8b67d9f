"""Wiring the long-running parts together: the scheduler with its executor, and the DAG
processor loop. The CLI's ``scheduler``, ``dag-processor`` and ``standalone`` commands use
these; tests use them too, with a fake clock where time matters.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from headwater.clock import Clock, SystemClock
from headwater.db.errors import DamagedDatabaseError
from headwater.db.opening import open_store
from headwater.db.reconnect import is_connection_lost, short_reason

if TYPE_CHECKING:
    from headwater.dag_processing.processor import DagFolderProcessor
    from headwater.engine.records import AttemptKey
    from headwater.executors.base import Executor
    from headwater.executors.local import WorkerInfo
    from headwater.metrics.exposition import MetricsServer
    from headwater.scheduler.scheduler import Scheduler
    from headwater.settings import Settings
    from headwater.store.ports import DagCatalog, Store

log = logging.getLogger(__name__)

WORKER_FUNCTION = "headwater.runtime.remote_attempt:run_payload"
WORKER_PRELOAD = (
    "headwater.runtime.remote_attempt",
    "headwater.runtime.task_runner",
    "headwater.store.sql",
    "headwater.loading.dagbag",
    "headwater.settings",
)
"""What a worker's first attempt would import: the fork server (and a Celery worker) import
it once, before they fork workers (``headwater.settings``: an attempt reads the ``[lineage]``
settings, 16 ms of CPU to import in each worker otherwise)."""
LINEAGE_PRELOAD = "headwater.lineage.worker_preload"
"""Preloaded too when ``[lineage]`` sends events."""


def worker_preload(settings: Settings) -> tuple[str, ...]:
    """The modules the fork server of a scheduler with ``settings`` imports."""
    if settings.lineage.transport == "none":
        return WORKER_PRELOAD
    return (*WORKER_PRELOAD, LINEAGE_PRELOAD)


def local_executor_factory(settings: Settings) -> Callable[[Scheduler], Executor]:
    """Builds the local worker pool for a scheduler, bound to its ``prepare_attempt``."""
    from headwater.executors.local import Dispatch, LocalExecutor

    def factory(scheduler: Scheduler) -> Executor:
        def prepare(key: AttemptKey, worker: WorkerInfo) -> Dispatch | None:
            message = scheduler.prepare_attempt(key, worker.pid, worker.hostname)
            if message is None:
                return None
            return Dispatch(message.to_json(), message.timeout_s)

        config = settings.scheduler
        return LocalExecutor(
            parallelism=config.parallelism,
            worker_function=WORKER_FUNCTION,
            prepare=prepare,
            max_tasks_per_worker=config.worker_max_tasks,
            max_worker_memory_mb=config.worker_max_memory_mb,
            kill_grace_s=config.kill_grace_s,
            idle_timeout_s=config.worker_idle_timeout_s,
            start_attempts=config.worker_start_attempts,
            clock=scheduler.clock,
            preload=worker_preload(settings),
            queued_ahead=config.queued_ahead,
            standby=True,  # run_payload claims each attempt before it runs it
        )

    return factory


def in_process_executor_factory() -> Callable[[Scheduler], Executor]:
    """Attempts run one at a time inside the scheduler's process (debugging and tests): no
    isolation, no hard timeouts (``execution_timeout`` still applies in the main thread)."""
    import os

    from headwater.engine.records import AttemptOutcome
    from headwater.executors.in_process import InProcessExecutor
    from headwater.runtime.remote_attempt import run_message

    def factory(scheduler: Scheduler) -> Executor:
        def run_attempt(key: AttemptKey) -> AttemptOutcome | None:
            message = scheduler.prepare_attempt(key, os.getpid(), scheduler.hostname)
            if message is None:
                return None
            return run_message(message, scheduler.store, scheduler.xcoms, scheduler.clock.now)

        return InProcessExecutor(run_attempt, scheduler.clock)

    return factory


def build_scheduler(
    settings: Settings, *, store: Store | None = None, clock: Clock | None = None
) -> Scheduler:
    """The scheduler of ``settings``, with the executor ``scheduler.executor`` names. The name
    is looked up in :mod:`~headwater.scheduler.executor_registry` and its factory given the
    settings before the database is opened, so an unknown name or bad settings of the
    executor are refused first."""
    from headwater.runtime.remote_logs import use_remote_log_folder
    from headwater.scheduler.executor_registry import executor_factory
    from headwater.scheduler.scheduler import Scheduler

    build_executor = executor_factory(settings.scheduler.executor)(settings)
    use_remote_log_folder(settings)  # attempts run in this process (in_process) copy logs too
    return Scheduler(
        store=store or open_store(settings, clock=clock),
        executor_factory=build_executor,
        settings=settings,
        clock=clock,
    )


def start_metrics_server(settings: Settings, store: Store, *, port: int) -> MetricsServer | None:
    """Serve this process's ``/metrics`` (and ``store``'s counts) on ``[metrics]
    scheduler_host`` and ``port`` (``scheduler_port`` for the scheduler, ``dag_processor_port``
    for the DAG processor) in a daemon thread; None when the port is 0. Each process serves
    its own, so each needs a port of its own. Raises a HeadwaterError naming the address when
    it cannot listen there."""
    from headwater.exceptions import HeadwaterError
    from headwater.metrics.exposition import serve_metrics

    if port == 0:
        return None
    host = settings.metrics.scheduler_host
    try:
        return serve_metrics(store, host, port)
    except OSError as exc:
        raise HeadwaterError(
            f"{exc.strerror}; choose another port in [metrics] (HEADWATER__METRICS__...)"
        ) from exc


def build_processor(
    settings: Settings, store: DagCatalog, *, should_stop: Callable[[], bool] | None = None
) -> DagFolderProcessor:
    """The DAG-folder processor of ``settings``; a scan ends early once ``should_stop()``."""
    from headwater.dag_processing.processor import DagFolderProcessor

    _prepare_dags_folder(settings)
    return DagFolderProcessor(
        store,
        settings.dags_folder,
        parse_timeout_s=settings.scheduler.file_parse_timeout_s,
        reparse_interval_s=settings.scheduler.min_file_process_interval_s,
        paused_at_creation=settings.scheduler.dags_are_paused_at_creation,
        airflow_compat=settings.core.airflow_compat,
        should_stop=should_stop,
    )


def _prepare_dags_folder(settings: Settings) -> None:
    """A missing DAG folder: the default one (``<home>/dags``) is created, owner-only as the
    home, so that a first ``standalone`` has a folder to put DAG files in; a configured one
    is only pointed out, since it may be mounted or created later (until then it holds no
    DAGs, and the processor loads it once it appears)."""
    from headwater.private_files import make_private_folders

    folder = settings.dags_folder
    if folder.exists():
        return
    if not settings.core.dags_folder:
        try:
            make_private_folders(folder)
        except OSError as exc:
            log.warning("Could not create the DAG folder %s: %s", folder, exc.strerror or exc)
        else:
            log.info("Created the DAG folder %s: put DAG files in it", folder)
            return
    log.warning(
        "core.dags_folder %s does not exist: no DAGs are loaded until it is created", folder
    )


def run_processor_loop(
    processor: DagFolderProcessor,
    should_stop: Callable[[], bool],
    *,
    interval_s: float,
    clock: Clock | None = None,
) -> None:
    """Scan the folder every ``interval_s`` until ``should_stop()``, which also ends a scan
    under way if the processor was built with it."""
    from headwater.dag_processing.processor import ScanStopped

    clock = clock or SystemClock()
    while not should_stop():
        began = clock.now()  # the loop's own clock: a test's fake clock decides the pace
        try:
            report = processor.scan()
        except DamagedDatabaseError:
            raise  # no later scan can succeed: end with the error, which says what to do
        except ScanStopped:
            return
        except Exception as exc:  # a database hiccup: log it and scan again next time
            if not is_connection_lost(exc):
                log.exception("Scanning %s failed", processor.folder)
            else:  # one line: the next scan reconnects
                log.warning(
                    "Scanning %s: lost the database connection (%s); scanning again next time",
                    processor.folder,
                    short_reason(exc),
                )
        else:
            # Once per change of a file's errors, not at every scan that imports it again.
            for path, count in report.new_errors.items():
                log.warning(
                    "%s: %d import error(s); see `headwater dags list-import-errors`", path, count
                )
        rest = interval_s - (clock.now() - began).total_seconds()
        while rest > 0 and not should_stop():
            step = min(rest, 0.2)
            clock.sleep(step)
            rest -= step


def start_processor_process() -> subprocess.Popen[bytes]:
    """``headwater dag-processor`` as a child process, in a process group of its own: the
    parent stops it (SIGTERM) when it stops, so a Ctrl-C in a terminal, which signals the
    whole foreground group, must not reach it as well (it would take the parent's SIGTERM
    for a second, forcing signal). It exits by itself if the parent dies."""
    import os

    command = [
        "dag-processor",
        "--quiet",
        "--exit-with-parent",
        f"--parent-pid={os.getpid()}",
        "--database-checked",
    ]
    return subprocess.Popen([sys.executable, "-m", "headwater", *command], process_group=0)
