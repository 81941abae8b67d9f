"""Jobs: the long-running processes that record heartbeats in the database (schedulers, DAG
processors, triggerers, workers), and whether they are alive (``headwater jobs``).

A job is alive while it has not ended and its latest heartbeat is younger than its kind's
threshold: ``triggerer.lease_s`` for a triggerer (past it, another triggerer takes its
triggers over), ``scheduler.task_heartbeat_timeout_s`` for the others (the age after which
the scheduler takes an attempt for lost). :func:`check_jobs` answers as Airflow's ``airflow
jobs check``: the newest ``limit`` jobs of a kind (on a host) are looked at, and the check
passes when one of them is alive, or several with ``allow_multiple``. Example::

    result = check_jobs(ctx, job_type="scheduler", limit=2, allow_multiple=True)
    result.ok, result.message       # (True, "Found 2 alive jobs.")
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from headwater.exceptions import HeadwaterError
from headwater.services._schema import IsoDatetime, Schema

if TYPE_CHECKING:
    from headwater.db.rows import JobRow
    from headwater.services.context import ServiceContext

__all__ = ["JOB_TYPES", "JobCheck", "JobOut", "JobType", "check_jobs", "list_jobs"]

JobType = Literal["scheduler", "triggerer", "dag_processor", "worker"]
JOB_TYPES: tuple[JobType, ...] = ("scheduler", "triggerer", "dag_processor", "worker")


class JobOut(Schema):
    """One job: a process of ``kind`` on ``hostname``, and whether it is alive now."""

    id: int
    kind: str
    hostname: str
    pid: int
    started_at: IsoDatetime
    heartbeat_at: IsoDatetime
    ended_at: IsoDatetime | None
    heartbeat_age_s: float
    alive: bool


class JobCheck(Schema):
    """The answer of :func:`check_jobs`: ``ok`` is the exit status's meaning."""

    job_type: str | None
    hostname: str | None
    checked: int
    """How many jobs were looked at (at most ``limit``)."""
    alive: list[JobOut]
    ok: bool
    message: str


def _threshold_s(ctx: ServiceContext, kind: str) -> float:
    if kind == "triggerer":
        return ctx.settings.triggerer.lease_s
    return ctx.settings.scheduler.task_heartbeat_timeout_s


def _job_out(ctx: ServiceContext, job: JobRow, now: datetime) -> JobOut:
    age = (now - job.heartbeat_at).total_seconds()
    return JobOut(
        id=job.id,
        kind=job.kind,
        hostname=job.hostname,
        pid=job.pid,
        started_at=job.started_at,
        heartbeat_at=job.heartbeat_at,
        ended_at=job.ended_at,
        heartbeat_age_s=round(age, 3),
        alive=job.ended_at is None and age <= _threshold_s(ctx, job.kind),
    )


def _kind(job_type: str | None) -> str | None:
    if job_type is not None and job_type not in JOB_TYPES:
        raise HeadwaterError(
            f"unknown job type {job_type!r} (--job-type): one of {', '.join(JOB_TYPES)}"
        )
    return job_type


def list_jobs(
    ctx: ServiceContext,
    *,
    job_type: str | None = None,
    hostname: str | None = None,
    alive_only: bool = False,
) -> list[JobOut]:
    """Jobs of ``job_type`` (all kinds with None) on ``hostname`` (any with None), newest
    heartbeat first; with ``alive_only``, the alive ones."""
    now = ctx.now()
    jobs = [
        _job_out(ctx, job, now)
        for job in ctx.store.list_jobs(kind=_kind(job_type))
        if hostname is None or job.hostname == hostname
    ]
    jobs.sort(key=lambda job: (job.heartbeat_at, job.id), reverse=True)
    return [job for job in jobs if job.alive] if alive_only else jobs


def check_jobs(
    ctx: ServiceContext,
    *,
    job_type: str | None = None,
    hostname: str | None = None,
    limit: int = 1,
    allow_multiple: bool = False,
) -> JobCheck:
    """Whether live jobs of ``job_type`` (on ``hostname``) are there: among the ``limit``
    jobs not ended with the newest heartbeats (all of them with 0), at least one alive, and
    only one unless ``allow_multiple``."""
    if limit < 0:
        raise HeadwaterError(f"--limit must be 0 (no limit) or more, not {limit}")
    listed = list_jobs(ctx, job_type=job_type, hostname=hostname)
    candidates = [job for job in listed if job.ended_at is None]
    if limit:
        candidates = candidates[:limit]
    alive = [job for job in candidates if job.alive]
    if not alive:
        ok, message = False, "No alive jobs found."
    elif len(alive) > 1 and not allow_multiple:
        ok, message = False, f"Found {len(alive)} alive jobs. Expected only one."
    else:
        ok = True
        message = "Found one alive job." if len(alive) == 1 else f"Found {len(alive)} alive jobs."
    return JobCheck(
        job_type=job_type,
        hostname=hostname,
        checked=len(candidates),
        alive=alive,
        ok=ok,
        message=message,
    )
