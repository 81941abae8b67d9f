"""A Celery worker process beats for the attempts running in it, from one thread of its own:
an attempt's row gets its heartbeat while the attempt runs, and none once it ended."""

from __future__ import annotations

from datetime import timedelta

from db_records import T0, make_attempt, make_run, make_ti
from headwater.celery_executor.attempt_heartbeat import AttemptBeats
from headwater.db.rows import AttemptHeartbeat
from headwater.engine.records import AttemptKey
from headwater.store.sql import SqlStore

LATER = T0 + timedelta(seconds=30)


def test_running_attempts_beat_and_ended_ones_do_not(sql_store: SqlStore) -> None:
    run = make_run()
    first, second = make_ti("a", run), make_ti("b", run)
    sql_store.create_dag_run(run, [first, second])
    sql_store.save_attempt(make_attempt(first, 1, T0))
    sql_store.save_attempt(make_attempt(second, 1, T0))
    a, b = AttemptKey("etl", "r1", "a", -1, 1), AttemptKey("etl", "r1", "b", -1, 1)
    now = [LATER]
    beats = AttemptBeats(sql_store, interval_s=3600, now=lambda: now[0])

    with beats.running(a):
        with beats.running(b):
            assert beats.beat() == [a, b]
        now[0] = LATER + timedelta(seconds=5)
        assert beats.beat() == [a]  # b ended: its row is left alone
    assert beats.beat() == []

    assert sql_store.attempt_heartbeats() == {
        a: AttemptHeartbeat(LATER + timedelta(seconds=5), None),
        b: AttemptHeartbeat(LATER, None),
    }


def test_one_thread_beats_for_every_attempt_of_the_process(sql_store: SqlStore) -> None:
    beats = AttemptBeats(sql_store, interval_s=3600)
    threads = []
    for try_number in (1, 2, 3):
        with beats.running(AttemptKey("etl", "r1", "a", -1, try_number)):
            threads.append(beats._thread)
    assert threads[0] is not None and threads[0].is_alive()
    assert threads == [threads[0]] * 3
