"""``LatestOnlyOperator``: run what follows only in the run of the latest schedule interval.

Its direct downstream tasks are skipped (as a branch that follows nothing) unless the run
is the latest scheduled one: now is past the start of the run's data interval and at most
the end of the next interval (Airflow's rule). Runs triggered by hand never skip, and
neither does the last run of a schedule that ends, nor a run whose data interval is a
point in time (trigger-like schedules): each of those is taken as the latest. Useful under
``catchup=True``: a backfill of old intervals does not send today's report 100 times.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from headwater.operators.branch import BaseBranchOperator

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG


MANUAL_RUN_TYPES = frozenset({"manual"})
"""Run types that are never skipped (Airflow: ``DagRunType.MANUAL``)."""


class LatestOnlyOperator(BaseBranchOperator):
    """Skip the direct downstream tasks unless this run is the latest scheduled interval.

    Example::

        latest = LatestOnlyOperator(task_id="latest_only")
        latest >> send_report
    """

    ui_color = "#e9ffdb"

    def choose_branch(self, context: dict[str, Any]) -> list[str]:
        run = context["dag_run"]
        follow_all = list(self.downstream_task_ids)
        log = context["ti"].log
        if run.run_type in MANUAL_RUN_TYPES:
            log.info("Run %s was triggered by hand: not skipping downstream", run.run_id)
            return follow_all
        window = latest_window(self.dag, run.data_interval_start, run.data_interval_end)
        if window is None:
            log.info("No later interval to compare with: this run is the latest")
            return follow_all
        now = self._now()
        left, right = window
        log.info("Latest window: (%s, %s], now %s", left.isoformat(), right.isoformat(), now)
        if left < now <= right:
            log.info("Latest run: not skipping downstream")
            return follow_all
        log.info("Not the latest run: skipping downstream")
        return []


def latest_window(
    dag: DAG | None, interval_start: datetime, interval_end: datetime
) -> tuple[datetime, datetime] | None:
    """``(left, right)``: a run of the interval ``[interval_start, interval_end)`` is the
    latest when ``left < now <= right``: from its start to the end of the next interval.
    None when there is no next interval, or the interval is a point in time (then every
    run counts as the latest)."""
    if dag is None or interval_start == interval_end:
        return None
    following = dag.schedule.next_interval(interval_end)
    if following is None:
        return None
    return interval_start, following[1]
