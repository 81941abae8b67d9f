"""Context keys of Airflow's that cost something or are deprecated: filled on first use.

* ``prev_data_interval_start_success``, ``prev_data_interval_end_success``,
  ``prev_start_date_success``, ``prev_end_date_success``: from the previous successful run of
  the same DAG (the newest one with an earlier logical date), None when there is none. One
  store read, made the first time one of them is used, shared by the four.
* Airflow 2 names that Airflow 3 removed, with the values Airflow 2.10 gave them:
  ``execution_date`` (the logical date), ``next_execution_date`` / ``prev_execution_date``
  (the schedule's next and previous logical dates; the logical date itself for a run
  triggered by hand), ``next_ds``, ``prev_ds``, ``yesterday_ds``, ``tomorrow_ds`` (and their
  ``_nodash`` forms), ``prev_execution_date_success`` and ``triggering_dataset_events``. The
  first use of each writes one note to the task's log naming what replaces it.

Each value is a :class:`~headwater.runtime.lazy_values.LazyValue`, so building the context
reads nothing and computes no schedule; a value known to be None (no previous schedule) is
stored as None.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from headwater.engine.transitions import DagRunState
from headwater.runtime.lazy_values import LazyValue
from headwater.timetables.base import DataInterval, TimeRestriction
from headwater.timetables.interval import CronDataIntervalTimetable, DeltaDataIntervalTimetable

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.engine.records import DagRun
    from headwater.store.base import MetadataStore

_LOG = logging.getLogger("headwater.task")
_MANUAL = "manual"
_PAGE = 20

REPLACEMENTS: dict[str, str] = {
    "execution_date": "logical_date",
    "next_execution_date": "data_interval_end",
    "next_ds": "{{ data_interval_end | ds }}",
    "next_ds_nodash": "{{ data_interval_end | ds_nodash }}",
    "prev_execution_date": "prev_data_interval_start_success (the previous successful run's)",
    "prev_ds": "{{ prev_data_interval_start_success | ds }}",
    "prev_ds_nodash": "{{ prev_data_interval_start_success | ds_nodash }}",
    "yesterday_ds": "{{ macros.ds_add(ds, -1) }}",
    "yesterday_ds_nodash": "{{ macros.ds_add(ds, -1) | replace('-', '') }}",
    "tomorrow_ds": "{{ macros.ds_add(ds, 1) }}",
    "tomorrow_ds_nodash": "{{ macros.ds_add(ds, 1) | replace('-', '') }}",
    "prev_execution_date_success": "prev_data_interval_start_success",
    "triggering_dataset_events": "triggering_asset_events",
}
"""Each deprecated key and what to use instead (named in its note)."""

DEPRECATED_KEYS = frozenset(REPLACEMENTS)
PREVIOUS_SUCCESS_KEYS = frozenset(
    {
        "prev_data_interval_start_success",
        "prev_data_interval_end_success",
        "prev_start_date_success",
        "prev_end_date_success",
    }
)


def deprecation_note(key: str) -> str:
    """The one line the first use of ``key`` writes to the task's log."""
    return (
        f"The context key {key!r} is an Airflow 2 name, removed in Airflow 3 and "
        f"deprecated here: use {REPLACEMENTS[key]} instead"
    )


def previous_successful_run(store: MetadataStore, run: DagRun) -> DagRun | None:
    """The newest successful run of ``run``'s DAG with an earlier logical date, or None.

    Pages back through the runs by the ``(dag_id, logical_date)`` index, so a long history
    costs no more than its newest successful run's distance."""
    from headwater.store.ports import RunQueries  # here: the first use reads; importing costs

    if not isinstance(store, RunQueries):  # only the engine's port: its successful runs
        earlier = [
            r
            for r in store.list_dag_runs(run.dag_id, [DagRunState.SUCCESS])
            if r.logical_date < run.logical_date
        ]
        return earlier[-1] if earlier else None
    before: datetime | None = run.logical_date
    while True:
        page = store.list_dag_runs_before(run.dag_id, before, _PAGE)
        for candidate in reversed(page):
            if candidate.state == DagRunState.SUCCESS and candidate.run_id != run.run_id:
                return candidate
        if len(page) < _PAGE:
            return None
        before = page[0].logical_date


def next_logical_date(dag: DAG, run: DagRun) -> datetime | None:
    """Airflow 2's ``next_execution_date``: the logical date of the run the schedule plans
    after this one (this run's own for a run triggered by hand)."""
    if run.run_type == _MANUAL:
        return run.logical_date
    info = dag.timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(run.data_interval_start, run.data_interval_end),
        restriction=TimeRestriction(run.data_interval_start, None, catchup=True),
    )
    return None if info is None else info.logical_date


def previous_logical_date(dag: DAG, run: DagRun) -> datetime | None:
    """Airflow 2's ``prev_execution_date``: the schedule's fire time before the logical date
    (this run's own for a run triggered by hand); None unless the schedule is a cron or a
    timedelta."""
    if run.run_type == _MANUAL:
        return run.logical_date
    timetable = dag.timetable
    if isinstance(timetable, CronDataIntervalTimetable):
        return timetable.interval_containing(run.logical_date - timedelta(microseconds=1)).start
    if isinstance(timetable, DeltaDataIntervalTimetable):
        return run.logical_date - timetable.delta
    return None


def _has_previous_schedule(dag: DAG, run: DagRun) -> bool:
    return run.run_type == _MANUAL or isinstance(
        dag.timetable, CronDataIntervalTimetable | DeltaDataIntervalTimetable
    )


def _has_next_schedule(dag: DAG, run: DagRun) -> bool:
    return run.run_type == _MANUAL or dag.timetable.periodic


def _ds(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%d")


def _nodash(ds: str | None) -> str | None:
    return None if ds is None else ds.replace("-", "")


class _Notes:
    """Writes each key's deprecation note once to the attempt's log."""

    def __init__(self, log: logging.Logger | None) -> None:
        self._log = log or _LOG

    def on_use(self, key: str) -> Callable[[], None]:
        return functools.partial(self._log.warning, "%s", deprecation_note(key))


def airflow_context(
    *,
    dag: DAG,
    run: DagRun,
    store: MetadataStore,
    log: logging.Logger | None,
    triggering_asset_events: Any,
) -> dict[str, Any]:
    """The entries above for one attempt: stand-ins, nothing computed or read yet.
    ``log``: the attempt's logger (the notes go there)."""
    notes = _Notes(log)
    previous = functools.cache(functools.partial(previous_successful_run, store, run))
    logical_date = run.logical_date

    def of_previous(read: Callable[[DagRun], datetime | None]) -> LazyValue:
        return LazyValue(lambda: None if (found := previous()) is None else read(found))

    def deprecated(key: str, compute: Callable[[], Any]) -> LazyValue:
        return LazyValue(compute, notes.on_use(key))

    next_date = functools.cache(functools.partial(next_logical_date, dag, run))
    prev_date = functools.cache(functools.partial(previous_logical_date, dag, run))
    entries: dict[str, Any] = {
        "prev_data_interval_start_success": of_previous(lambda r: r.data_interval_start),
        "prev_data_interval_end_success": of_previous(lambda r: r.data_interval_end),
        "prev_start_date_success": of_previous(lambda r: r.start_date),
        "prev_end_date_success": of_previous(lambda r: r.end_date),
        "execution_date": deprecated("execution_date", lambda: logical_date),
        "yesterday_ds": deprecated("yesterday_ds", lambda: _ds(logical_date - timedelta(1))),
        "yesterday_ds_nodash": deprecated(
            "yesterday_ds_nodash", lambda: _nodash(_ds(logical_date - timedelta(1)))
        ),
        "tomorrow_ds": deprecated("tomorrow_ds", lambda: _ds(logical_date + timedelta(1))),
        "tomorrow_ds_nodash": deprecated(
            "tomorrow_ds_nodash", lambda: _nodash(_ds(logical_date + timedelta(1)))
        ),
        "prev_execution_date_success": deprecated(
            "prev_execution_date_success",
            lambda: None if (found := previous()) is None else found.logical_date,
        ),
        "triggering_dataset_events": deprecated(
            "triggering_dataset_events", lambda: triggering_asset_events
        ),
    }
    # Known to be None without computing anything: stored as None, so `is None` holds.
    if _has_next_schedule(dag, run):
        entries["next_execution_date"] = deprecated("next_execution_date", next_date)
        entries["next_ds"] = deprecated("next_ds", lambda: _ds(next_date()))
        entries["next_ds_nodash"] = deprecated("next_ds_nodash", lambda: _nodash(_ds(next_date())))
    else:
        entries.update(dict.fromkeys(("next_execution_date", "next_ds", "next_ds_nodash")))
    if _has_previous_schedule(dag, run):
        entries["prev_execution_date"] = deprecated("prev_execution_date", prev_date)
        entries["prev_ds"] = deprecated("prev_ds", lambda: _ds(prev_date()))
        entries["prev_ds_nodash"] = deprecated("prev_ds_nodash", lambda: _nodash(_ds(prev_date())))
    else:
        entries.update(dict.fromkeys(("prev_execution_date", "prev_ds", "prev_ds_nodash")))
    return entries
