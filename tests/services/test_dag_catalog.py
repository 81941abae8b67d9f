"""The DAG list service (:mod:`headwater.services.dag_catalog`) on SQLite and PostgreSQL:
filters, totals restricted to the visible DAGs, and a page costing the same few statements
however many DAGs and runs there are."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from headwater.db.rows import DagRow
from headwater.engine.records import DagRun
from headwater.engine.states import DagRunState
from headwater.operations.errors import InvalidRequestError
from headwater.services.context import ServiceContext
from headwater.services.dag_catalog import DagFilters, list_dags

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _add(ctx: ServiceContext, dags: int, runs: int, first: int = 0) -> None:
    """``dags`` more DAGs (``gen<first>``...) tagged ``even`` or ``odd``, each with ``runs``
    runs."""
    for i in range(first, first + dags):
        dag_id = f"gen{i:03d}"
        ctx.store.upsert_dag(
            DagRow(dag_id, fileloc=f"/dags/{dag_id}.py", tags=["even" if i % 2 == 0 else "odd"])
        )
        for day in range(runs):
            logical = T0 + timedelta(days=day)
            ctx.store.create_dag_run(
                DagRun(
                    dag_id=dag_id,
                    run_id=f"r{day:03d}",
                    logical_date=logical,
                    data_interval_start=logical,
                    data_interval_end=logical,
                    state=DagRunState.FAILED if day == runs - 1 else DagRunState.SUCCESS,
                ),
                [],
            )


@contextmanager
def _statements(ctx: ServiceContext) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = ctx.store.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_visible_dags_bound_the_filters_and_the_total(ctx: ServiceContext) -> None:
    _add(ctx, 6, 1)
    visible = {"etl", "gen000", "gen001", "gen002"}
    page = list_dags(ctx, visible=visible, limit=2)
    assert [d.dag_id for d in page.items] == ["etl", "gen000"] and page.total == 4
    even = list_dags(ctx, DagFilters(tags=["even"]), visible=visible)
    assert [d.dag_id for d in even.items] == ["gen000", "gen002"] and even.total == 2
    assert list_dags(ctx, visible=set()).total == 0
    assert list_dags(ctx).total == 9


def test_latest_runs_are_newest_last(ctx: ServiceContext) -> None:
    _add(ctx, 1, 8)
    [item] = list_dags(ctx, DagFilters(search="gen000")).items
    assert [r.run_id for r in item.recent_runs] == ["r003", "r004", "r005", "r006", "r007"]
    assert item.recent_runs[-1].state == "failed"


def test_a_page_costs_the_same_statements_whatever_the_history(ctx: ServiceContext) -> None:
    _add(ctx, 3, 2)
    with _statements(ctx) as small:
        list_dags(ctx, limit=100)
    _add(ctx, 40, 12, first=3)
    with _statements(ctx) as large:
        page = list_dags(ctx, limit=100)
    assert page.total == 46  # etl, flaky, partly and 43 more
    grown = [d for d in page.items if d.dag_id.startswith("gen") and d.dag_id >= "gen003"]
    assert len(grown) == 40 and all(len(d.recent_runs) == 5 for d in grown)
    queries = [s for s in large if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 3, queries  # the DAGs, the import errors, the latest runs
    assert len(large) == len(small)


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (1001, 0), (10, -1)])
def test_bad_pages_are_refused_naming_the_field(
    ctx: ServiceContext, limit: int, offset: int
) -> None:
    field = "limit" if offset == 0 else "offset"
    with pytest.raises(InvalidRequestError, match=f"^{field} must be"):
        list_dags(ctx, limit=limit, offset=offset)
