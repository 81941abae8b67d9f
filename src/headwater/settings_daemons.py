"""The settings of headwater's long-running processes: the scheduler (with its executor's
worker processes and the DAG-folder processor it runs), the triggerer and the API server.
Part of the one settings tree (:mod:`headwater.settings`), read and checked the same way;
kept here so that module stays one job and a readable length.
"""

from __future__ import annotations

from dataclasses import dataclass

from headwater.settings_checks import DAY_S, setting

__all__ = ["ApiSettings", "SchedulerSettings", "TriggererSettings"]


@dataclass(frozen=True)
class SchedulerSettings:
    # Not a fixed list of choices: an installed package may add an executor, so the name is
    # checked when the scheduler is built (headwater.scheduler.executor_registry).
    executor: str = setting(
        "local",
        "Where attempts run: 'local' (a pool of worker processes), 'in_process' (one at a "
        "time inside the scheduler, for debugging), 'celery' (Celery workers, docs/celery.md), "
        "or the name of an executor an installed "
        "package declares in the entry-point group 'headwater.executors'. Checked when the "
        "scheduler starts.",
    )
    parallelism: int = setting(
        16,
        "Most attempts running at once, over all DAGs; with 'local', also the most worker "
        "processes.",
        minimum=1,
        maximum=1024,
    )
    queued_ahead: int = setting(
        16,
        "With 'local': attempts queued for the worker pool beyond parallelism, so that a worker "
        "that ends an attempt gets the next one at once, not after the scheduler's next write "
        "(they count toward pools and max_active_tasks like running ones; 0: none).",
        minimum=0,
        maximum=1024,
    )
    loop_interval_s: float = setting(
        1.0,
        "Seconds between full scheduler passes (ended tasks are handled at once anyway).",
        minimum=0.01,
        maximum=3600.0,
    )
    heartbeat_interval_s: float = setting(
        5.0,
        "Seconds between heartbeats of the scheduler and of running attempts.",
        minimum=0.1,
        maximum=3600.0,
    )
    new_run_check_interval_s: float = setting(
        0.05,
        "Seconds between looks, between full passes, for runs newly queued from elsewhere "
        "(triggers, backfills, cleared tasks) and asset events recorded from elsewhere (CLI, "
        "API); 0: they wait for the next full pass.",
        minimum=0.0,
        maximum=3600.0,
    )
    run_claim_lease_s: float = setting(
        30.0,
        "Several schedulers on PostgreSQL: a scheduler's claim on a run lasts this long unless "
        "it renews it; when a scheduler dies, the others take its runs over within this time.",
        minimum=1.0,
        maximum=3600.0,
    )
    task_heartbeat_timeout_s: float = setting(
        30.0,
        "An attempt without a heartbeat for this long is lost: retried or failed.",
        minimum=1.0,
        maximum=DAY_S,
    )
    dags_are_paused_at_creation: bool = setting(
        False, "Whether a DAG seen for the first time starts paused."
    )
    dag_dir_list_interval_s: float = setting(
        5.0,
        "Seconds between scans of the DAG folder for new, changed and deleted files.",
        minimum=0.1,
        maximum=DAY_S,
    )
    min_file_process_interval_s: float = setting(
        30.0,
        "An unchanged DAG file is parsed again once its last parse is this old, so DAGs built "
        "from helper modules or config files follow their changes (0: only changed files).",
        minimum=0.0,
        maximum=DAY_S,
    )
    file_parse_timeout_s: float = setting(
        30.0,
        "A DAG file that takes longer to import is stopped and reported as an error.",
        minimum=0.1,
        maximum=3600.0,
    )
    worker_max_tasks: int = setting(
        0,
        "A worker process is replaced after this many attempts (0: never).",
        minimum=0,
        maximum=1_000_000_000,
    )
    worker_max_memory_mb: int = setting(
        0,
        "A worker process using more memory than this after an attempt is replaced (0: no limit).",
        minimum=0,
        maximum=1 << 24,
    )
    kill_grace_s: float = setting(
        5.0,
        "Seconds between asking a timed-out worker to stop (SIGTERM) and killing it.",
        minimum=0.0,
        maximum=600.0,
    )
    missing_dag_grace_s: float = setting(
        300.0,
        "Seconds a run's DAG may be missing (its file deleted, or no longer defining it) "
        "before the run fails and its unfinished tasks end removed; a DAG back in time "
        "carries on.",
        minimum=0.0,
        maximum=7 * DAY_S,
    )
    worker_idle_timeout_s: float = setting(
        60.0,
        "A worker process that ran no attempt for this many seconds exits; workers start "
        "again when tasks need them.",
        minimum=1.0,
        maximum=DAY_S,
    )
    worker_start_attempts: int = setting(
        5,
        "Failed starts of worker processes in a row (retried after 0.5 s, 1 s, 2 s, ...) "
        "after which the scheduler stops with the error.",
        minimum=1,
        maximum=100,
    )


@dataclass(frozen=True)
class TriggererSettings:
    capacity: int = setting(
        1000,
        "Most triggers one triggerer runs at once; the others wait for room or for another "
        "triggerer.",
        minimum=1,
        maximum=100_000,
    )
    lease_s: float = setting(
        30.0,
        "Seconds a triggerer holds the triggers it claimed without renewing them; a "
        "triggerer that dies loses them after this long, and another one takes them over.",
        minimum=1.0,
        maximum=3600.0,
    )
    heartbeat_interval_s: float = setting(
        5.0,
        "Seconds between heartbeats of the triggerer (its job row, and its leases: renewed "
        "at least every lease_s / 3).",
        minimum=0.1,
        maximum=3600.0,
    )
    poll_interval_s: float = setting(
        1.0,
        "Seconds between looks for new triggers to claim and for triggers no longer held "
        "(fired events are written at once).",
        minimum=0.01,
        maximum=60.0,
    )


@dataclass(frozen=True)
class ApiSettings:
    host: str = setting("127.0.0.1", "Address `headwater api-server` listens on.")
    port: int = setting(
        8080, "Port of the REST API and web UI; 0 picks a free one.", minimum=0, maximum=65535
    )
    workers: int = setting(1, "Server processes of `headwater api-server`.", minimum=1, maximum=64)
    base_url: str = setting(
        "", "URL users reach the UI at (printed, used in links); default: http://<host>:<port>."
    )
    session_lifetime_s: float = setting(
        43_200.0, "Seconds a UI login lasts without use.", minimum=60.0, maximum=30 * DAY_S
    )
    secure_cookies: str = setting(
        "auto",
        "Mark the session cookie Secure: always, never, or auto (when the request came by HTTPS).",
        choices=("auto", "always", "never"),
    )
    login_max_failures: int = setting(
        5, "Failed logins of one user or address before they wait.", minimum=1, maximum=1000
    )
    login_lockout_s: float = setting(
        300.0, "Seconds logins stay refused after too many failures.", minimum=1.0, maximum=DAY_S
    )
