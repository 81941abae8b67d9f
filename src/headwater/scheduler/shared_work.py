"""Sharing the work with other schedulers on one PostgreSQL database.

The scheduler's part of :mod:`~headwater.scheduler.run_claims`: at start it checks the
lease against its heartbeat and releases the claims of schedulers of this machine whose
process is gone; each pass it claims its share of the active runs and drives only those;
with its heartbeat it renews them and forgets the runs another scheduler took; stopping,
it releases them. On SQLite (one scheduler per database) none of this runs.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from headwater.db.rows import JobRow
from headwater.engine.records import DagRun
from headwater.exceptions import HeadwaterError
from headwater.executors.process_tree import process_exists
from headwater.log_format import log_fields
from headwater.scheduler.scheduler_state import SchedulerState

log = logging.getLogger("headwater.scheduler.scheduler")

RunKey = tuple[str, str]


class SharedWork(SchedulerState):
    """Run claims: which of the active runs this scheduler drives."""

    def _check_claim_lease(self) -> None:
        """The lease must outlast two heartbeats, or a live scheduler would lose its runs."""
        config = self.settings.scheduler
        if config.run_claim_lease_s < 2 * config.heartbeat_interval_s:
            raise HeadwaterError(
                f"scheduler.run_claim_lease_s ({config.run_claim_lease_s:g}) must be at least "
                f"twice scheduler.heartbeat_interval_s ({config.heartbeat_interval_s:g}): a "
                "scheduler renews its run claims with its heartbeat"
            )

    def _dead_schedulers_here(self, now: datetime) -> list[JobRow]:
        """Schedulers of this machine that did not end, whose process is gone, and whose
        claims may still be live (older ones' leases expired long ago)."""
        config = self.settings.scheduler
        renewed_within = config.run_claim_lease_s + max(
            config.heartbeat_interval_s, config.loop_interval_s
        )
        since = now - timedelta(seconds=renewed_within)
        return [
            job
            for job in self.store.list_jobs(kind="scheduler", alive_since=since)
            if job.hostname == self.hostname and not process_exists(job.pid)
        ]

    def _claim_runs(self, now: datetime, stored: list[DagRun]) -> tuple[list[DagRun], set[RunKey]]:
        """The active runs this scheduler drives among ``stored`` (all of them when it is
        alone on its database), and those it claimed now that it did not drive before."""
        if self._claims is None:
            return stored, set()
        self._claims.held &= {(r.dag_id, r.run_id) for r in stored}  # ended ones go
        alive = self._claims.schedulers_alive(now)
        self._others_alive = alive > 1
        taken = self._claims.claim(now, active_runs=len(stored), schedulers=alive)
        for dag_id, run_id in sorted(taken):
            log.info("Claimed run %s of %s", run_id, dag_id, extra=log_fields(dag_id, run_id))
        held = [r for r in stored if (r.dag_id, r.run_id) in self._claims.held]
        return held, taken - set(self._runs)

    def _renew_claims(self, now: datetime, *, when_due: bool = False) -> None:
        """Renew this scheduler's leases (with its heartbeat; between passes too, with
        ``when_due``, once a third of the lease went by); a run another scheduler took
        meanwhile is forgotten here, its attempts left to that one (never killed: it adopts
        or settles them)."""
        if self._claims is None or (when_due and not self._claims.renewal_due(now)):
            return
        for key in self._claims.renew(now):
            if key in self._runs:
                log.warning(
                    "Run %s of %s is driven by another scheduler now: this one did not renew "
                    "its claim within scheduler.run_claim_lease_s",
                    key[1],
                    key[0],
                    extra=log_fields(*key),
                )
                self._drop_run(key, kill=False)

    def _release_claims(self) -> None:
        """Give the runs back (stopping): the other schedulers claim them on their next pass."""
        if self._claims is None:
            return
        try:
            self._claims.release()
        except Exception as exc:  # the leases expire anyway
            log.warning("Could not release the run claims of this scheduler: %s", exc)
        self._claims = None
