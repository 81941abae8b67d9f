"""Is headwater working? Health of the metadata database, the scheduler, the DAG
processor and the triggerer (``GET /api/v1/health``), and which headwater this is
(``GET /api/v1/version``).

A scheduler or DAG processor is healthy while its latest heartbeat (its ``jobs`` row) is
younger than ``scheduler.task_heartbeat_timeout_s``: the age after which the scheduler
itself takes an attempt for lost. Both beat every ``scheduler.heartbeat_interval_s``, which
the settings keep below that timeout. A triggerer is healthy while its heartbeat is younger
than its lease (``triggerer.lease_s``: past it, another triggerer takes its triggers over);
it counts in the overall status only once one has run on this database (a deployment
without deferrable tasks may run none). Example::

    health = get_health(ctx)
    health.status, health.scheduler.heartbeat_age_s     # ("healthy", 1.2)
"""

from __future__ import annotations

import functools
import subprocess
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from headwater.services._schema import IsoDatetime, Schema

if TYPE_CHECKING:
    from headwater.db.rows import JobRow
    from headwater.services.context import ServiceContext

Status = Literal["healthy", "unhealthy", "unknown"]
"""``unknown``: the database could not be read, so nothing is known of the component."""


class DatabaseHealth(Schema):
    status: Status
    error: str | None = None
    """Why the database cannot be used (its password hidden); None when it can."""


class ComponentHealth(Schema):
    """A scheduler, DAG processor or triggerer: the freshest heartbeat of its kind."""

    status: Status
    latest_heartbeat: IsoDatetime | None
    """None when none ever ran on this database."""
    heartbeat_age_s: float | None
    threshold_s: float
    """Older than this (``scheduler.task_heartbeat_timeout_s``; for a triggerer
    ``triggerer.lease_s``), it counts as gone."""
    hostname: str | None
    pid: int | None


class Health(Schema):
    """``healthy`` when every component is."""

    status: Literal["healthy", "unhealthy"]
    metadatabase: DatabaseHealth
    scheduler: ComponentHealth
    dag_processor: ComponentHealth
    triggerer: ComponentHealth | None
    """None when no triggerer ever ran on this database (then it does not count)."""


class Version(Schema):
    version: str
    git_commit: str | None
    """The commit of a source checkout the package runs from; None for an installed one."""


def _component(jobs: list[JobRow] | None, now: datetime, threshold_s: float) -> ComponentHealth:
    if jobs is None:
        return ComponentHealth(
            status="unknown",
            latest_heartbeat=None,
            heartbeat_age_s=None,
            threshold_s=threshold_s,
            hostname=None,
            pid=None,
        )
    latest = max(jobs, key=lambda job: job.heartbeat_at, default=None)
    if latest is None:
        return ComponentHealth(
            status="unhealthy",
            latest_heartbeat=None,
            heartbeat_age_s=None,
            threshold_s=threshold_s,
            hostname=None,
            pid=None,
        )
    age = (now - latest.heartbeat_at).total_seconds()
    alive = latest.ended_at is None and age <= threshold_s
    return ComponentHealth(
        status="healthy" if alive else "unhealthy",
        latest_heartbeat=latest.heartbeat_at,
        heartbeat_age_s=round(age, 3),
        threshold_s=threshold_s,
        hostname=latest.hostname,
        pid=latest.pid,
    )


def get_health(ctx: ServiceContext) -> Health:
    """The database (reachable: its jobs can be read), and the scheduler's and DAG
    processor's freshest heartbeats and their ages at ``ctx.now()``. Never raises for a
    database that cannot be used: it is reported ``unhealthy`` with the reason."""
    from headwater.services.database_errors import unreachable_database

    threshold_s = ctx.settings.scheduler.task_heartbeat_timeout_s
    schedulers: list[JobRow] | None = None
    processors: list[JobRow] | None = None
    triggerers: list[JobRow] | None = None
    try:
        schedulers = ctx.store.list_jobs("scheduler")
        processors = ctx.store.list_jobs("dag_processor")
        triggerers = ctx.store.list_jobs("triggerer")
        database = DatabaseHealth(status="healthy")
    except Exception as exc:  # any failure to read is the answer, not an error of /health
        problem = unreachable_database(exc, ctx.settings.database_url)
        reason = str(problem) if problem is not None else f"{type(exc).__name__}: {exc}"
        database = DatabaseHealth(status="unhealthy", error=reason.splitlines()[0])
    now = ctx.now()
    scheduler = _component(schedulers, now, threshold_s)
    dag_processor = _component(processors, now, threshold_s)
    triggerer = None
    if triggerers != []:  # one ran on this database (or the database cannot say)
        triggerer = _component(triggerers, now, ctx.settings.triggerer.lease_s)
    parts = [database.status, scheduler.status, dag_processor.status]
    if triggerer is not None:
        parts.append(triggerer.status)
    return Health(
        status="healthy" if all(s == "healthy" for s in parts) else "unhealthy",
        metadatabase=database,
        scheduler=scheduler,
        dag_processor=dag_processor,
        triggerer=triggerer,
    )


def get_version() -> Version:
    """This headwater's version, and the git commit when it runs from a source checkout."""
    from headwater import __version__

    return Version(version=__version__, git_commit=_git_commit())


@functools.cache
def _git_commit() -> str | None:
    """The checkout's HEAD, asked once (``git`` is not needed: None without it)."""
    root = Path(__file__).resolve().parents[3]
    if not (root / ".git").exists() or not (root / "pyproject.toml").exists():
        return None
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None
