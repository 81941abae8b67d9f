"""The plans PostgreSQL chooses for the store's hot writes while its statistics do not know
the rows yet (a new database, a run of thousands of tasks just created): a write of one row
must find it by the primary key, never walk every row of the same state."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from database_fixtures import migrated_postgres_database, worker_database
from db_records import make_run, make_ti
from headwater.engine.states import TaskInstanceState
from headwater.store.sql import SqlStore
from headwater.store.sql.task_instances import _COMPARE_AND_SET, _KEY, _VALUES

S = TaskInstanceState


@pytest.fixture
def new_database(postgres_admin_url: str) -> str:
    """A database migrated just now: its tables have never been analyzed."""
    return migrated_postgres_database(postgres_admin_url, worker_database("_plans"))


def _plan(engine: Engine, params: dict[str, object]) -> str:
    with engine.connect() as conn:
        sql = str(_COMPARE_AND_SET.compile(dialect=conn.dialect))
        return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}", params))


def test_a_task_instance_compare_and_set_finds_its_row_by_the_primary_key(
    new_database: str,
) -> None:
    run = make_run(dag_id="wide")
    with SqlStore.from_url(new_database) as store:
        tis = [make_ti(f"t{i}", run, state=S.NONE) for i in range(3000)]
        store.create_dag_run(run, tis)
        # The scheduler's write when an upstream ends: one of 3,000 instances, all in the
        # state "none", becomes scheduled.
        ti = tis[1234]
        params: dict[str, object] = {f"k_{name}": getattr(ti, name) for name in _KEY}
        params.update({f"v_{name}": None for name in _VALUES})
        params.update(seen_state=str(S.NONE), seen_try_number=0)
        plan = _plan(store.engine, params)

    assert "Index Scan using pk_task_instances" in plan, plan
    assert "ix_task_instances_state" not in plan, plan
