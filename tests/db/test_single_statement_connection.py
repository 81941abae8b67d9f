"""On PostgreSQL a worker's claim and outcome run in autocommit on a connection the store
keeps between them; one the server dropped while it sat idle is replaced, and the caller
never sees the error (as the pool does for its own connections)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

import headwater.db.engine as engine_module
from db_records import T0, make_attempt, make_run, make_ti
from headwater.db.engine import create_db_engine
from headwater.engine.records import AttemptOutcome
from headwater.engine.states import TaskInstanceState
from headwater.store.sql import SqlStore

S = TaskInstanceState


@pytest.fixture
def pg_store(postgres_migrated_url: str, db_url: str) -> Iterator[SqlStore]:
    if not db_url.startswith("postgresql"):
        pytest.skip("autocommit single statements are PostgreSQL's")
    with SqlStore.from_url(db_url) as store:
        yield store


def _backend_pids(url: str) -> set[int]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            return {row[0] for row in conn.execute(text(query))}
    finally:
        engine.dispose()


def test_claim_and_outcome_share_one_kept_connection_and_survive_its_loss(
    pg_store: SqlStore, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = make_run()
    first, second = make_ti("a", run, state=S.QUEUED), make_ti("b", run, state=S.QUEUED)
    pg_store.create_dag_run(run, [first, second])
    assert pg_store.claim_attempt(make_attempt(first))
    assert pg_store.record_attempt_outcome(
        first.key.attempt(1), AttemptOutcome(S.SUCCESS), T0, start_date=T0
    )
    kept = pg_store._autocommit.conn
    assert not kept.closed  # kept for the next statement, not given back

    # The server drops the kept connection while it is idle (a restart, a proxy's timeout).
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)
    backend = kept.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    admin = create_db_engine(db_url)
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    finally:
        admin.dispose()

    assert pg_store.claim_attempt(make_attempt(second))  # pinged, replaced, claimed
    assert pg_store.get_attempt(second.key.attempt(1)) is not None
    assert backend not in _backend_pids(db_url)
    pg_store.close()
    assert pg_store._autocommit_all == set()


def test_a_forked_child_opens_its_own_connection_and_leaves_the_parents_alone(
    pg_store: SqlStore, tmp_path: Path
) -> None:
    """A store used on both sides of a fork: the child never writes on the parent's socket
    (which would mix both conversations); each side goes on with its own connection."""
    run = make_run()
    tis = [make_ti(name, run, state=S.QUEUED) for name in ("a", "b", "c")]
    pg_store.create_dag_run(run, tis)
    assert pg_store.claim_attempt(make_attempt(tis[0]))  # the parent keeps a connection
    parent_backend = pg_store._autocommit.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    seen = tmp_path / "child_backend"
    pid = os.fork()
    if pid == 0:  # the child
        try:
            ok = pg_store.claim_attempt(make_attempt(tis[1]))
            kept = pg_store._autocommit.conn
            seen.write_text(str(kept.exec_driver_sql("SELECT pg_backend_pid()").scalar()))
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert int(seen.read_text()) != parent_backend
    assert pg_store.claim_attempt(make_attempt(tis[2]))  # the parent's connection still works
    assert all(pg_store.get_attempt(ti.key.attempt(1)) is not None for ti in tis)
