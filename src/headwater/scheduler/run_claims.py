"""Which runs one scheduler drives when several share a PostgreSQL database.

Each scheduler claims runs with a lease (``scheduler.run_claim_lease_s``) through the store's
:class:`~headwater.store.ports.ClaimStore`, renews the lease with its heartbeat and releases
its claims when it stops; it drives only the runs it holds, so a run is driven by one
scheduler at a time. A scheduler that dies (``kill -9``) stops renewing: once its leases
expire, the others claim its runs and put back what it left, as a restarting scheduler does.

Sharing: each pass a scheduler claims at most its fair share of the active runs (their
number divided by the schedulers alive, rounded up) less what it holds, so a second
scheduler that starts finds runs left to claim. A scheduler counts as alive while its
heartbeat is younger than the lease: the runs of a dead one are shared out once its leases
have expired.

Example::

    claims = RunClaims(store, claim_owner(job_id, hostname, pid), lease_s=30.0)
    taken = claims.claim(now, active_runs=12, schedulers=2)   # up to 6 runs
    lost = claims.renew(now)       # with the heartbeat: runs another scheduler took
    claims.release()               # when stopping
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headwater.db.rows import JobRow
    from headwater.store.ports import Store

__all__ = ["RunClaims", "allows_several_schedulers", "claim_owner"]

log = logging.getLogger("headwater.scheduler.scheduler")

RunKey = tuple[str, str]


def allows_several_schedulers(store: object) -> bool:
    """Whether several schedulers may share ``store``'s database: PostgreSQL only (its row
    locks make claims safe; SQLite runs one scheduler per database)."""
    engine = getattr(store, "engine", None)
    dialect = getattr(engine, "dialect", None)
    return getattr(dialect, "name", None) == "postgresql"


def claim_owner(job_id: int, hostname: str, pid: int) -> str:
    """The owner a scheduler's run claims are written under: its job, host and process."""
    return f"scheduler-{job_id}@{hostname}:{pid}"


def owner_of_job(job: JobRow) -> str:
    return claim_owner(job.id, job.hostname, job.pid)


class RunClaims:
    """The runs one scheduler holds, and claiming, renewing and releasing them."""

    def __init__(self, store: Store, owner: str, *, lease_s: float) -> None:
        self.store = store
        self.owner = owner
        self.lease = timedelta(seconds=lease_s)
        self.held: set[RunKey] = set()
        """The runs this scheduler holds (as of its last claim or renewal)."""
        self.renewed_at: datetime | None = None

    def renewal_due(self, now: datetime) -> bool:
        """Whether a third of the lease went by since the last renewal."""
        return self.renewed_at is None or now - self.renewed_at >= self.lease / 3

    def schedulers_alive(self, now: datetime) -> int:
        """The schedulers whose heartbeat is younger than the lease (this one included)."""
        jobs = self.store.list_jobs(kind="scheduler", alive_since=now - self.lease)
        return max(len(jobs), 1)

    def claim(self, now: datetime, *, active_runs: int, schedulers: int) -> set[RunKey]:
        """Claim unclaimed (or expired) active runs up to this scheduler's fair share of
        ``active_runs`` among ``schedulers``; returns the runs claimed now."""
        share = math.ceil(active_runs / max(schedulers, 1))
        limit = share - len(self.held)
        if limit <= 0:
            return set()
        taken = set(self.store.claim_runs(self.owner, now, self.lease, limit))
        self.held |= taken
        return taken

    def renew(self, now: datetime) -> set[RunKey]:
        """Extend the leases this scheduler holds; returns the runs it held that another
        scheduler holds now (its lease expired before it renewed it)."""
        before = self.held
        self.held = self.store.renew_run_claims(self.owner, now, self.lease)
        self.renewed_at = now
        lost = set()
        for dag_id, run_id in before - self.held:
            claim = self.store.get_run_claim(dag_id, run_id)
            if claim is not None and claim.claimed_by != self.owner:
                lost.add((dag_id, run_id))
        return lost

    def release(self) -> None:
        """Give up every claim: the other schedulers take the runs at once."""
        self.store.release_run_claims(self.owner)
        self.held = set()

    def release_of_dead(self, jobs: list[JobRow]) -> None:
        """Release the claims of schedulers known dead (their process is gone): a scheduler
        restarted on the same machine takes their runs without waiting for the lease."""
        for job in jobs:
            released = self.store.release_run_claims(owner_of_job(job))
            if released:
                log.info(
                    "Released %d run claim(s) of scheduler %d (pid %d on %s), whose process "
                    "is gone",
                    released,
                    job.id,
                    job.pid,
                    job.hostname,
                )
