"""The settings of operations (issue 14): notifications, deadlines, metrics, OpenLineage,
Sentry and data retention. Part of the one settings tree (:mod:`headwater.settings`), read
and checked the same way; kept here so that module stays one job and a readable length.
"""

from __future__ import annotations

from dataclasses import dataclass

from headwater.settings_checks import DAY_S, setting

__all__ = [
    "DeadlineSettings",
    "LineageSettings",
    "MetricsSettings",
    "NotificationSettings",
    "RetentionSettings",
    "SentrySettings",
]


@dataclass(frozen=True)
class NotificationSettings:
    max_tries: int = setting(
        3, "Tries to send one notification before it counts as failed.", minimum=1, maximum=20
    )
    retry_delay_s: float = setting(
        1.0,
        "Seconds before the second try of a notification; each later try waits twice as long.",
        minimum=0.0,
        maximum=600.0,
    )
    timeout_s: float = setting(
        10.0,
        "Seconds one try of a notification may take (connect and send).",
        minimum=0.1,
        maximum=600.0,
    )


@dataclass(frozen=True)
class DeadlineSettings:
    check_interval_s: float = setting(
        1.0,
        "Seconds between the scheduler's checks for missed deadlines and SLAs.",
        minimum=0.05,
        maximum=3600.0,
    )


@dataclass(frozen=True)
class MetricsSettings:
    api_endpoint: bool = setting(
        True, "Serve Prometheus metrics at /metrics on the API server (no login needed)."
    )
    scheduler_port: int = setting(
        0,
        "Port of the scheduler's own /metrics endpoint; 0 serves none.",
        minimum=0,
        maximum=65535,
    )
    task_durations_by_task: bool = setting(
        False,
        "headwater_task_duration_seconds per task (task_id label) rather than per DAG: a "
        "series per task and bucket, costly to scrape for DAGs of thousands of tasks.",
    )
    scheduler_host: str = setting(
        "127.0.0.1", "Address of the scheduler's and the DAG processor's /metrics endpoints."
    )
    dag_processor_port: int = setting(
        0,
        "Port of the DAG processor's own /metrics endpoint (DAG file parse times); 0 serves none.",
        minimum=0,
        maximum=65535,
    )


@dataclass(frozen=True)
class LineageSettings:
    transport: str = setting(
        "none",
        "Where OpenLineage events go: none (off), console, file, http or kafka.",
        choices=("none", "console", "file", "http", "kafka"),
    )
    namespace: str = setting("headwater", "The OpenLineage namespace of headwater's jobs.")
    url: str = setting("", "The http transport's server, e.g. http://marquez:5000.")
    endpoint: str = setting("api/v1/lineage", "The http transport's path on the server.")
    api_key: str = setting("", "The http transport's API key (sent as a bearer token).")
    file_path: str = setting("", "The file transport's file (JSON lines).")
    kafka_topic: str = setting("", "The kafka transport's topic.")
    kafka_bootstrap_servers: str = setting("", "The kafka transport's brokers, host:port,...")
    timeout_s: float = setting(
        5.0,
        "Seconds one request (an event, or a batch) may take to send.",
        minimum=0.1,
        maximum=120.0,
    )
    batch_size: int = setting(
        1,
        "The http transport sends up to this many events per request to <endpoint>/batch "
        "(OpenLineage's batch API; a backend without it gets one event per request); "
        "1: each event on its own.",
        minimum=1,
        maximum=1000,
    )
    batch_wait_s: float = setting(
        0.5,
        "With batch_size above 1: how long the first waiting event waits for others to "
        "fill a batch.",
        minimum=0.0,
        maximum=60.0,
    )


@dataclass(frozen=True)
class SentrySettings:
    dsn: str = setting("", "Sentry DSN; empty: nothing is reported to Sentry.")
    environment: str = setting("", "Sentry environment tag (e.g. production).")
    release: str = setting("", "Sentry release; default: headwater's version.")
    sample_rate: float = setting(1.0, "Share of errors sent to Sentry.", minimum=0.0, maximum=1.0)


@dataclass(frozen=True)
class RetentionSettings:
    older_than_days: float = setting(
        0.0,
        "The scheduler removes runs (and their task instances, attempts, XComs, logs and "
        "events) that ended more than this many days ago, once a day; 0 keeps everything.",
        minimum=0.0,
        maximum=36500.0,
    )
    batch_size: int = setting(
        1000, "Runs removed per transaction by `db clean`.", minimum=1, maximum=100_000
    )
    interval_s: float = setting(
        DAY_S,
        "Seconds between the scheduler's clean-ups when older_than_days is set.",
        minimum=60.0,
        maximum=30 * DAY_S,
    )
