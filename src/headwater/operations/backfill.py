"""Backfills: runs of a DAG over a range of past logical dates (``headwater dags backfill``).

:func:`plan_backfill` decides, for every schedule interval whose logical date is in
``[start, end]``, what to do:

============  ==================================================================
``create``    no run has that logical date yet: a ``backfill`` run is created
``rerun``     a run failed (``reprocess`` ``failed`` or ``all``), or succeeded
              (``reprocess`` ``all``): the whole run is cleared and runs again
``skip``      a run is queued or running; or ``reprocess`` is ``none``; or a run
              succeeded and ``reprocess`` is not ``all``
============  ==================================================================

:func:`run_backfill` carries a plan out under one new backfill id, which the runs carry
(``dag_runs.backfill_id``); the scheduler keeps at most ``max_active_runs`` of them running
(:func:`backfill_limits`). Running the same backfill twice creates nothing the second time,
except reruns that ``reprocess`` asks for. Example::

    plan = plan_backfill(store, "etl", start, end, reprocess="failed")
    backfill = run_backfill(store, plan, max_active_runs=2, now=clock.now())
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from headwater.engine.dagrun import DagRunEngine
from headwater.engine.records import DagRun
from headwater.engine.run_factory import new_dag_run
from headwater.engine.states import DagRunState
from headwater.operations._stored import require_aware, stored_dag, xcoms_for
from headwater.operations.actors import current_actor
from headwater.operations.clearing import clear_task_instances
from headwater.operations.errors import ConflictError, InvalidRequestError, NotFoundError
from headwater.operations.partition_backfill import create_partition_runs
from headwater.scheduler.run_planning import iter_intervals_between
from headwater.store import backfills

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.store.ports import Store

REPROCESS = ("failed", "none", "all")
"""Which existing runs a backfill runs again: failed ones, none, or all finished ones."""

ACTIVE = (DagRunState.QUEUED, DagRunState.RUNNING)

MAX_BACKFILL_RUNS = 10_000
"""Most logical dates one backfill covers. A typo in a year (0001, 9999) would otherwise
plan, and store, millions of runs; a wider range is refused before anything is stored."""


@dataclass(frozen=True)
class BackfillItem:
    """What a backfill does at one logical date."""

    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime
    action: str
    """'create', 'rerun' or 'skip'."""
    run_id: str
    """The run to create (``backfill__<logical date>``), or the existing run rerun or skipped."""
    state: str | None = None
    """The existing run's state; None for 'create'."""
    reason: str = ""
    """Why, in a few words."""
    partition_key: str | None = None
    """The partition, for a backfill over partitions (:mod:`.partition_backfill`)."""


class BackfillPlan(list[BackfillItem]):
    """The items of a backfill, oldest logical date first, and what it was asked for."""

    def __init__(
        self,
        items: Iterable[BackfillItem],
        *,
        dag_id: str,
        start: datetime,
        end: datetime,
        reprocess: str,
        partitions: str | None = None,
    ) -> None:
        super().__init__(items)
        self.dag_id = dag_id
        self.start = start
        self.end = end
        self.reprocess = reprocess
        self.partitions = partitions
        """The partitions asked for (``2024-01-01..2024-01-31``, ``eu,us``); None for a
        backfill over logical dates."""

    def with_action(self, action: str) -> list[BackfillItem]:
        return [item for item in self if item.action == action]


@dataclass
class Backfill:
    """A backfill that was run: its stored row's fields and the runs it created or reran.

    ``id`` is None when the plan had nothing to create or rerun: then nothing was stored.
    """

    id: int | None
    dag_id: str
    start: datetime
    end: datetime
    reprocess: str
    max_active_runs: int
    created_at: datetime
    run_backwards: bool = False
    created: list[str] = field(default_factory=list)
    """Run ids created."""
    rerun: list[str] = field(default_factory=list)
    """Run ids cleared to run again."""
    skipped: list[str] = field(default_factory=list)
    """Run ids left alone (planned as skips, or found queued or running when it ran)."""


def plan_backfill(
    store: Store,
    dag_id: str,
    start: datetime,
    end: datetime,
    reprocess: str = "failed",
    *,
    now: datetime | None = None,
) -> BackfillPlan:
    """What a backfill of ``dag_id`` over logical dates ``[start, end]`` would do; changes
    nothing. Only intervals within the DAG's ``start_date``/``end_date`` that have ended by
    ``now`` (default: the system clock) are planned, as the scheduler would have run them.
    The intervals are the scheduler's (``run_planning.intervals_between``): cron read in the
    DAG's time zone, a ``timedelta`` counted from its ``start_date``.
    Raises for an unknown or deleted DAG, a DAG without a schedule, ``start`` after ``end``,
    a range with no interval of the schedule between the DAG's ``start_date`` and
    ``end_date`` (all before the one or after the other, say), a range of more than
    :data:`MAX_BACKFILL_RUNS` intervals (counted lazily, up to ``now``: a range reaching
    year 9999 costs only the intervals already over), or an unknown ``reprocess``."""
    if reprocess not in REPROCESS:
        raise InvalidRequestError(f"reprocess {reprocess!r} is not one of {', '.join(REPROCESS)}")
    start = _in_utc_range(require_aware(start, "start"), "start")
    end = _in_utc_range(require_aware(end, "end"), "end")
    if start > end:
        raise InvalidRequestError(
            f"start {start.isoformat()} is after end {end.isoformat()}: nothing to backfill"
        )
    _, dag = stored_dag(store, dag_id, action="backfill")
    runs: dict[datetime, list[DagRun]] = {}
    for run in store.list_dag_runs(dag_id):
        runs.setdefault(run.logical_date, []).append(run)
    intervals = iter_intervals_between(dag, start, end)  # lazily: the range may be huge
    items: list[BackfillItem] = []
    now = now or datetime.now(UTC)
    planned_any = False
    for interval in intervals:
        planned_any = True
        if interval.end > now:
            break  # not over yet: the scheduler runs it when it is
        if len(items) == MAX_BACKFILL_RUNS:
            raise InvalidRequestError(_too_many(dag, start, end))
        when = interval.logical_date
        new_id = f"backfill__{when.isoformat()}"
        action, found, reason = _decide(runs.get(when, []), reprocess)
        items.append(
            BackfillItem(
                logical_date=when,
                data_interval_start=interval.start,
                data_interval_end=interval.end,
                action=action,
                run_id=found.run_id if found is not None else new_id,
                state=found.state.value if found is not None else None,
                reason=reason,
            )
        )
    if not planned_any:
        raise InvalidRequestError(_no_interval(dag, start, end))
    return BackfillPlan(items, dag_id=dag_id, start=start, end=end, reprocess=reprocess)


def _in_utc_range(value: datetime, field: str) -> datetime:
    """``value``, refused when it has no UTC time (``0001-01-01T00:00+05:00`` is in year 0):
    it is stored, and compared, in UTC."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise InvalidRequestError(
            f"{field} {value.isoformat()} is outside years 1 to 9999 in UTC"
        ) from None
    return value


def _too_many(dag: DAG, start: datetime, end: datetime) -> str:
    """Why a backfill over ``[start, end]`` is refused: it needs more than the cap."""
    return (
        f"backfill of DAG {dag.dag_id!r} from {start.isoformat()} to {end.isoformat()} would "
        f"need at least {MAX_BACKFILL_RUNS + 1:,} runs (schedule {dag.schedule.description}); "
        f"one backfill creates at most {MAX_BACKFILL_RUNS:,}: narrow the range (--start/--end)"
    )


def _no_interval(dag: DAG, start: datetime, end: datetime) -> str:
    """Why a backfill over ``[start, end]`` has nothing to plan at all."""

    def text(moment: datetime | None) -> str:
        return moment.isoformat() if moment is not None else "(none)"

    return (
        f"nothing to backfill: {start.isoformat()}..{end.isoformat()} has no interval of DAG "
        f"{dag.dag_id!r}'s schedule {dag.schedule.description} between its start_date "
        f"{text(dag.start_date)} and end_date {text(dag.end_date)}"
    )


def _decide(existing: list[DagRun], reprocess: str) -> tuple[str, DagRun | None, str]:
    """The action at one logical date, the existing run it concerns, and why."""
    if not existing:
        return "create", None, "no run yet"
    active = [r for r in existing if r.state in ACTIVE]
    if active:
        return "skip", active[0], f"a run is {active[0].state.value}"
    succeeded = [r for r in existing if r.state is DagRunState.SUCCESS]
    failed = [r for r in existing if r.state is DagRunState.FAILED]
    run = succeeded[0] if succeeded else failed[0]
    ended = "succeeded" if succeeded else "failed"
    if reprocess == "none":
        return "skip", run, f"a run {ended} (reprocess none)"
    if succeeded and reprocess != "all":
        return "skip", run, "a run succeeded"
    return "rerun", run, f"the run {ended} (reprocess {reprocess})"


def run_backfill(
    store: Store,
    plan: BackfillPlan,
    max_active_runs: int,
    now: datetime,
    *,
    conf: Mapping[str, Any] | None = None,
    created_by: str | None = None,
    run_backwards: bool = False,
) -> Backfill:
    """Carry out ``plan`` (from :func:`plan_backfill`) under a new backfill id.

    Creates a QUEUED ``backfill`` run (id ``backfill__<logical date>``, the plan's data
    interval, the params' defaults) for each 'create' item, and clears each 'rerun' item's
    whole run. A run found queued or running by now, or created meanwhile, is skipped.
    Records a ``backfill`` event. All of it is one unit of work. Raises for
    ``max_active_runs`` below 1, and for a ``conf`` the DAG's params refuse (it is the conf
    of every run created; reruns keep theirs). ``created_by`` names the user who asked
    (default: the current actor, ``cli:<OS user>`` from the CLI);
    ``run_backwards`` has the scheduler start the newest logical dates first.
    """
    if not isinstance(max_active_runs, int) or max_active_runs < 1:
        raise InvalidRequestError(f"max_active_runs must be 1 or more, not {max_active_runs!r}")
    if created_by is None:
        created_by = current_actor()
    _, dag = stored_dag(store, plan.dag_id, action="backfill")
    result = Backfill(
        id=None,
        dag_id=plan.dag_id,
        start=plan.start,
        end=plan.end,
        reprocess=plan.reprocess,
        max_active_runs=max_active_runs,
        created_at=now,
        run_backwards=run_backwards,
        skipped=[item.run_id for item in plan.with_action("skip")],
    )
    if not plan.with_action("create") and not plan.with_action("rerun"):
        return result
    # Built (and params validated) before anything is stored.
    new_runs = (
        {}
        if plan.partitions is not None
        else {
            item.run_id: new_dag_run(
                dag,
                logical_date=item.logical_date,
                run_id=item.run_id,
                run_type="backfill",
                conf=conf,
                data_interval=(item.data_interval_start, item.data_interval_end),
            )
            for item in plan.with_action("create")
        }
    )
    # One unit of work: the backfill, its runs and its event, or nothing.
    with store.unit_of_work() as uow:
        row = backfills.create_backfill(
            uow,
            plan.dag_id,
            plan.start,
            plan.end,
            plan.reprocess,
            max_active_runs,
            now,
            created_by,
            run_backwards,
        )
        result.id = row.id
        xcoms = xcoms_for(uow)
        all_tasks = list(dag.task_dict)
        if plan.partitions is not None:  # batched: a backfill may cover 100,000 partitions
            create_partition_runs(uow, dag, plan, row.id, conf, result)
        for item in plan:
            if item.action == "create" and plan.partitions is None:
                run = new_runs[item.run_id]
                if uow.find_dag_run(dag.dag_id, item.logical_date):
                    result.skipped.append(item.run_id)  # created meanwhile
                    continue
                # Stored with its backfill id in one transaction: no scheduler ever sees it
                # outside the backfill's max_active_runs.
                run.backfill_id = row.id
                try:
                    DagRunEngine.create(dag, uow, xcoms, run)
                except ValueError:  # its id was taken meanwhile
                    result.skipped.append(item.run_id)
                    continue
                result.created.append(run.run_id)
            elif item.action == "rerun":
                current = uow.get_dag_run(dag.dag_id, item.run_id)
                if current is None or current.state in ACTIVE:
                    result.skipped.append(item.run_id)
                    continue
                # Tagged before it is queued, so the scheduler never sees it outside the limit.
                backfills.set_runs_backfill(uow, dag.dag_id, [item.run_id], row.id)
                clear_task_instances(uow, dag.dag_id, item.run_id, all_tasks, now=now)
                result.rerun.append(item.run_id)
        uow.record_event(
            "backfill",
            at=now,
            dag_id=dag.dag_id,
            detail=(
                f"backfill {row.id} {plan.start.isoformat()}..{plan.end.isoformat()} "
                + (f"partitions={plan.partitions} " if plan.partitions is not None else "")
                + f"reprocess={plan.reprocess} max_active_runs={max_active_runs}"
                + (" run_backwards" if run_backwards else "")
                + ": "
                f"{len(result.created)} created, {len(result.rerun)} rerun"
            ),
            actor=created_by,
        )
    return result


@dataclass
class CancelledBackfill:
    """What cancelling a backfill did."""

    backfill_id: int
    dag_id: str
    completed_at: datetime
    not_started: list[str] = field(default_factory=list)
    """Its queued runs, now failed without starting."""
    still_running: list[str] = field(default_factory=list)
    """Its running runs, left to finish."""


def cancel_backfill(
    store: Store, backfill_id: int, now: datetime, *, cancelled_by: str | None = None
) -> CancelledBackfill:
    """Cancel a backfill, as Airflow 3 does: it is completed at ``now``, each of its runs
    still queued ends ``failed`` without starting (its unfinished instances ``skipped``, the
    run's note says the backfill was cancelled), and its running runs finish as they would.

    Raises not found for an unknown backfill and conflict for one cancelled already. One
    unit of work with a ``backfill_cancel`` event; if the scheduler starts one of the runs
    meanwhile, its compare-and-set refuses this write (a conflict: nothing changed, send
    it again). Example::

        cancel_backfill(store, 3, clock.now())   # CancelledBackfill(not_started=[...], ...)
    """
    row = store.get_backfill(backfill_id)
    if row is None:
        raise NotFoundError(f"no backfill {backfill_id}")
    if row.completed_at is not None:
        raise ConflictError(
            f"backfill {backfill_id} is already completed (at {row.completed_at.isoformat()})"
        )
    _, dag = stored_dag(store, row.dag_id, action="cancel a backfill of")
    result = CancelledBackfill(backfill_id, row.dag_id, now)
    reason = f"backfill {backfill_id} was cancelled"
    with store.unit_of_work() as uow:
        if not backfills.complete_backfill(uow, backfill_id, now):
            raise ConflictError(f"backfill {backfill_id} is already completed")
        xcoms = xcoms_for(uow)
        members = backfills.run_backfill_ids(uow, row.dag_id)
        for run_id in sorted(r for r, b in members.items() if b == backfill_id):
            run = uow.get_dag_run(row.dag_id, run_id)
            if run is None:
                continue
            if run.state is DagRunState.QUEUED:
                engine = DagRunEngine.load_as_stored(dag, uow, xcoms, row.dag_id, run_id)
                engine.fail_unfinished(now, reason)
                result.not_started.append(run_id)
            elif run.state is DagRunState.RUNNING:
                result.still_running.append(run_id)
        uow.record_event(
            "backfill_cancel",
            at=now,
            dag_id=row.dag_id,
            detail=(
                f"{reason}: {len(result.not_started)} queued run(s) will "
                f"not start, {len(result.still_running)} running run(s) finish"
            ),
            actor=cancelled_by if cancelled_by is not None else current_actor(),
        )
    return result


def backfill_limits(store: Store) -> dict[int, int]:
    """Backfill id -> ``max_active_runs``, for every backfill with a run queued or running.

    For the scheduler: a QUEUED run with ``backfill_id`` ``b`` may start only while fewer
    than ``backfill_limits(store)[b]`` runs of ``b`` are RUNNING;
    :func:`headwater.store.backfills.active_backfill_runs` says which runs belong to which
    backfill.
    """
    return backfills.backfill_limits(store)
