"""The DAG list of the REST API and the web UI: the DAGs stored in the database, filtered
and one page at a time, each with its schedule in words and its latest runs.

What a principal may see is the caller's to decide (``visible``: the DAG ids its role sees,
from :func:`headwater.web.security.visible_dag_ids`); the filters, the total and the pages
are computed on those only, so a role limited to some tags pages through its DAGs as if
there were no others. A page costs three statements whatever the history's size: the DAGs
without their structure, the import errors, and the latest runs of the page's DAGs (one
indexed read per DAG in one ``UNION ALL``). Example::

    page = list_dags(ctx, DagFilters(tags=["team-a"], paused=False), limit=20)
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from headwater.masking import redact
from headwater.operations.errors import InvalidRequestError
from headwater.services._schema import IsoDatetime, Page, Schema
from headwater.services.schedule_words import schedule_in_words

if TYPE_CHECKING:
    from headwater.db.rows import DagRow, RunSummaryRow
    from headwater.services.context import ServiceContext

RECENT_RUNS = 5
"""How many of each DAG's latest runs a list shows (the coloured dots)."""
MAX_LIMIT = 1000


class RecentRun(Schema):
    """One of a DAG's latest runs, as the list's dots show it."""

    run_id: str
    state: str
    run_type: str
    logical_date: IsoDatetime


class DagListItem(Schema):
    """One DAG of the list."""

    dag_id: str
    display_name: str
    """How pages name the DAG: its ``dag_display_name``, else its id."""
    description: str | None
    file: str | None
    """The DAG file that defines it (None once no file does)."""
    tags: list[str]
    paused: bool
    active: bool
    """Whether a DAG file still defines it."""
    schedule: str | None
    """As written in the DAG (``"@daily"``, ``"0 8 * * *"``, ``"0:30:00"``), None: manual."""
    schedule_words: str
    """``"every day at 08:00 UTC"``, ``"never (manual only)"``..."""
    next_run: IsoDatetime | None
    """The logical date of its next scheduled run; None: none is due (or the scheduler has
    not seen it yet)."""
    has_import_error: bool
    """Its file failed to import when last parsed (the DAG is as it was before)."""
    recent_runs: list[RecentRun]
    """Its latest runs, oldest first (newest last)."""


class DagFilters(Schema):
    """What a DAG list keeps; every field left out keeps all."""

    tags: list[str] | None = None
    """DAGs carrying any of these tags."""
    paused: bool | None = None
    search: str | None = None
    """Text found (case ignored) in the id, the display name, the description or a tag."""
    has_import_error: bool | None = None
    """Whether the DAG's file failed to import when last parsed."""


def dag_tags(ctx: ServiceContext) -> list[tuple[str, list[str]]]:
    """``(dag_id, tags)`` of every DAG a file defines, for deciding which a role sees."""
    return [(row.dag_id, row.tags) for row in ctx.store.list_dag_headers()]


def list_dags(
    ctx: ServiceContext,
    filters: DagFilters | None = None,
    *,
    visible: Collection[str] | None = None,
    limit: int = 100,
    offset: int = 0,
    recent: int = RECENT_RUNS,
) -> Page[DagListItem]:
    """The DAGs some file defines, among ``visible`` (None: all), that pass ``filters``, by
    id: ``limit`` of them from ``offset`` on, each with its ``recent`` latest runs."""
    check_page(limit, offset)
    filters = filters or DagFilters()
    failing = {error.filename for error in ctx.store.list_import_errors()}
    rows = [
        row
        for row in ctx.store.list_dag_headers()
        if (visible is None or row.dag_id in visible) and _passes(row, filters, failing)
    ]
    chosen = rows[offset : offset + limit]
    latest = ctx.store.latest_dag_runs([row.dag_id for row in chosen], recent)
    items = [list_item(row, latest.get(row.dag_id, []), failing) for row in chosen]
    return Page[DagListItem](items=items, total=len(rows), limit=limit, offset=offset)


def check_page(limit: int, offset: int) -> None:
    """Refuse a page size outside 1..1000 or a negative offset, naming the field."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequestError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    if offset < 0:
        raise InvalidRequestError(f"offset must be 0 or more, not {offset}")


def _passes(row: DagRow, filters: DagFilters, failing: set[str]) -> bool:
    if filters.tags and not set(filters.tags) & set(row.tags):
        return False
    if filters.paused is not None and row.is_paused != filters.paused:
        return False
    if filters.has_import_error is not None and (row.fileloc in failing) != (
        filters.has_import_error
    ):
        return False
    if filters.search:
        needle = filters.search.strip().casefold()
        haystack = [row.dag_id, row.display_name or "", row.description or "", *row.tags]
        if not any(needle in text.casefold() for text in haystack):
            return False
    return True


def list_item(row: DagRow, runs: list[RunSummaryRow], failing: set[str]) -> DagListItem:
    """The list's view of ``row`` with its latest ``runs``; ``failing``: files that failed
    to import."""
    return DagListItem(
        dag_id=row.dag_id,
        display_name=row.shown_name,
        description=redact(row.description),
        file=row.fileloc,
        tags=list(row.tags),
        paused=row.is_paused,
        active=row.is_active,
        schedule=row.schedule,
        schedule_words=schedule_in_words(row.schedule),
        next_run=row.next_dagrun_logical_date,
        has_import_error=row.fileloc in failing,
        recent_runs=[
            RecentRun(
                run_id=run.run_id,
                state=run.state,
                run_type=run.run_type,
                logical_date=run.logical_date,
            )
            for run in runs
        ],
    )
