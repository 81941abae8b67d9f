"""Trying a unit of work again after the database connection dropped
(:mod:`headwater.db.reconnect`), and a worker's claim and outcome that committed just before
their connection dropped (:mod:`headwater.runtime.recorded_attempt`): on a real PostgreSQL
database whose backends are really terminated."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from fault_harness import DatabaseFaults
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from db_records import T0, make_attempt, make_run, make_ti
from headwater.db.engine import create_db_engine
from headwater.db.reconnect import is_connection_lost, retry_when_connection_lost
from headwater.engine.records import AttemptKey, AttemptOutcome, TaskAttempt
from headwater.engine.states import TaskInstanceState
from headwater.runtime.recorded_attempt import claim_retried, record_retried
from headwater.store.sql import SqlStore

S = TaskInstanceState
log = logging.getLogger("test_reconnect")


def _lost_connection(url: str) -> DBAPIError:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn, pytest.raises(DBAPIError) as raised:
            conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return raised.value
    finally:
        engine.dispose()


def test_a_dropped_or_refused_connection_is_lost_a_wrong_statement_is_not(
    postgres_url: str, faults: DatabaseFaults, tmp_path: Path
) -> None:
    assert is_connection_lost(_lost_connection(postgres_url))
    engine = create_db_engine(postgres_url)
    try:
        with faults.refusing(), pytest.raises(OperationalError) as refused:
            engine.connect()
        assert is_connection_lost(refused.value)
        with engine.connect() as conn, pytest.raises(DBAPIError) as wrong:
            conn.execute(text("SELECT * FROM no_such_table"))
        assert not is_connection_lost(wrong.value)
        with engine.connect() as conn, pytest.raises(OperationalError) as cancelled:
            conn.execute(text("SET statement_timeout = 1"))
            conn.execute(text("SELECT pg_sleep(1)"))
        assert not is_connection_lost(cancelled.value)  # the work's own timeout
    finally:
        engine.dispose()
    sqlite = create_db_engine(f"sqlite:///{tmp_path / 'h.db'}")
    try:
        with sqlite.connect() as conn, pytest.raises(OperationalError) as missing:
            conn.execute(text("SELECT * FROM no_such_table"))
        assert not is_connection_lost(missing.value)  # SQLite has no connection to lose
    finally:
        sqlite.dispose()
    assert not is_connection_lost(ValueError("no"))


def test_work_that_met_a_dropped_connection_runs_again_on_a_fresh_one_said_once(
    postgres_url: str, faults: DatabaseFaults, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_db_engine(postgres_url)
    waited: list[float] = []

    def backend() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())

    try:
        first = backend()  # pooled, used a moment ago: not pinged before its next use
        assert faults.terminate() >= 1
        with caplog.at_level(logging.WARNING, logger="test_reconnect"):
            again = retry_when_connection_lost(
                backend, "the test's query", log, waits=(0.5, 1.0), sleep=waited.append
            )
    finally:
        engine.dispose()
    assert again != first
    assert waited == [0.5]
    said = [r.getMessage() for r in caplog.records if r.name == "test_reconnect"]
    assert len(said) == 2, said
    assert said[0].startswith("The database connection was lost (")
    assert said[0].endswith("the test's query tries again in 0.5 s (try 2 of 3)")
    assert said[1] == "Reconnected to the database: the test's query goes on after 1 failed tries"


def test_work_gives_up_with_the_error_when_the_database_stays_away(
    postgres_url: str, faults: DatabaseFaults, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_db_engine(postgres_url)
    waited: list[float] = []

    def connect() -> None:
        with engine.connect():
            pass

    try:
        with (
            faults.refusing(),
            caplog.at_level(logging.WARNING, logger="test_reconnect"),
            pytest.raises(OperationalError, match="not currently accepting connections"),
        ):
            retry_when_connection_lost(
                connect, "the test's connect", log, waits=(0.1, 0.2), sleep=waited.append
            )
    finally:
        engine.dispose()
    assert waited == [0.1, 0.2]
    levels = [r.levelname for r in caplog.records if r.name == "test_reconnect"]
    assert levels == ["WARNING", "WARNING", "ERROR"]
    assert "gave up after 3 tries" in caplog.records[-1].getMessage()


class _DropsOnce(SqlStore):
    """A store whose next claim or outcome loses its connection, really (the server ends its
    backend), ``after`` the statement committed (only the answer is lost) or before it."""

    def __init__(self, url: str, *, after: bool) -> None:
        super().__init__(create_db_engine(url))
        self._owns_engine = True
        self.after = after
        self.armed = True

    def _drop(self) -> None:
        if self.armed:
            self.armed = False
            with self._write_one() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    def claim_attempt(self, attempt: TaskAttempt) -> bool:
        if not self.after:
            self._drop()
        claimed = super().claim_attempt(attempt)
        self._drop()
        return claimed

    def record_attempt_outcome(self, key: AttemptKey, *args: object, **kwargs: object) -> bool:  # type: ignore[override]
        if not self.after:
            self._drop()
        recorded = super().record_attempt_outcome(key, *args, **kwargs)  # type: ignore[arg-type]
        self._drop()
        return recorded


def _instance(url: str) -> TaskAttempt:
    run = make_run()
    ti = make_ti("a", run, state=S.QUEUED)
    with SqlStore.from_url(url) as store:
        store.create_dag_run(run, [ti])
    return make_attempt(ti, hostname="worker-host", pid=4242)


@pytest.mark.parametrize("after", [True, False], ids=["committed", "not-committed"])
def test_a_claim_and_an_outcome_whose_connection_dropped_count_once(
    postgres_url: str, faults: DatabaseFaults, after: bool
) -> None:
    started = _instance(postgres_url)
    end = T0 + timedelta(seconds=2)
    outcome = AttemptOutcome(S.SUCCESS)
    with _DropsOnce(postgres_url, after=after) as store:
        assert claim_retried(store, started)
        assert not store.armed  # the connection did drop
        store.armed = True
        assert record_retried(store, started, outcome, end, {"return_value": "1"})
        assert not store.armed
        stored = store.get_attempt(started.key)
        assert stored is not None
        assert (stored.state, stored.end_date, stored.pid) == (S.SUCCESS, end, 4242)
        assert store.get_xcom(started.key.ti_key, "return_value") == "1"


def test_after_a_dropped_connection_another_process_claim_and_end_are_still_refused(
    postgres_url: str, faults: DatabaseFaults
) -> None:
    started = _instance(postgres_url)
    with SqlStore.from_url(postgres_url) as other:
        assert other.claim_attempt(started)  # another worker (same try) claimed it first
        end = T0 + timedelta(seconds=1)
        assert other.record_attempt_outcome(started.key, AttemptOutcome(S.FAILED), end)
    mine = make_attempt(make_ti("a", make_run()), hostname="worker-host", pid=5151)
    with _DropsOnce(postgres_url, after=False) as store:
        assert not claim_retried(store, mine)  # the retry finds another's row
        store.armed = True
        late = T0 + timedelta(seconds=3)
        assert not record_retried(store, mine, AttemptOutcome(S.SUCCESS), late, {})
        stored = store.get_attempt(started.key)
        assert stored is not None and (stored.state, stored.pid) == (S.FAILED, 4242)


def test_a_scheduler_duty_that_lost_its_connection_says_so_in_one_line(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from datetime import datetime

    from headwater.scheduler.periodic_duties import PeriodicDuties

    lost = _lost_connection(postgres_url)

    class Deadlines:
        name = "deadlines"

        def tick(self, now: datetime) -> None:
            raise lost

        def stop(self) -> None:
            pass

    with caplog.at_level(logging.WARNING, logger="headwater"):
        PeriodicDuties([Deadlines()]).tick(T0)
    assert [r.getMessage() for r in caplog.records] == [
        "The scheduler's deadlines check lost the database connection; it is tried again"
    ]
    assert not any(r.exc_info for r in caplog.records)  # no traceback
