"""The Airflow context keys of an attempt (build_context): values, laziness, deprecation notes."""

from __future__ import annotations

import logging
import pickle
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from headwater import DAG, task
from headwater.engine.records import DagRun
from headwater.engine.run_factory import new_dag_run
from headwater.engine.transitions import DagRunState
from headwater.operators import EmptyOperator
from headwater.runtime.airflow_context import REPLACEMENTS, deprecation_note
from headwater.runtime.attempt_context import MACROS, attempts_in_test_mode, build_context
from headwater.runtime.lazy_values import LazyValue, TaskContext
from headwater.store.memory import MemoryStore
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)
DAY = datetime(2024, 3, 5, tzinfo=UTC)


class CountingStore(MemoryStore):
    """Counts the reads of earlier runs."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def list_dag_runs_before(self, dag_id: str, before: Any, limit: int) -> list[DagRun]:
        self.reads += 1
        return super().list_dag_runs_before(dag_id, before, limit)


def _dag(schedule: Any = "@daily") -> DAG:
    with DAG("ctx", schedule=schedule, start_date=START) as dag:
        EmptyOperator(task_id="t")
    return dag


def _context(
    dag: DAG,
    run: DagRun,
    store: MemoryStore | None = None,
    log: logging.Logger | None = None,
    map_index: int = -1,
) -> dict[str, Any]:
    ti = SimpleNamespace(map_index=map_index, try_number=1, log=log or logging.getLogger("t"))
    return build_context(
        dag=dag, task=dag.get_task("t"), run=run, ti=ti, store=store or MemoryStore()
    )


def _run(dag: DAG, day: datetime = DAY, run_type: str = "scheduled", **kw: Any) -> DagRun:
    return new_dag_run(dag, logical_date=day, run_type=run_type, **kw)


def test_keys_of_a_scheduled_run_as_airflow_2_10_computed_them() -> None:
    dag = _dag()
    context = _context(dag, _run(dag))
    assert isinstance(context, dict) and isinstance(context, TaskContext)
    assert context["task_instance_key_str"] == "ctx__t__20240305"
    assert context["ts_nodash"] == "20240305T000000"
    assert context["ts_nodash_with_tz"] == "20240305T000000+0000"
    assert context["execution_date"] == DAY
    assert context["next_execution_date"] == DAY + timedelta(days=1)
    assert context["prev_execution_date"] == DAY - timedelta(days=1)
    assert (context["next_ds"], context["next_ds_nodash"]) == ("2024-03-06", "20240306")
    assert (context["prev_ds"], context["prev_ds_nodash"]) == ("2024-03-04", "20240304")
    assert (context["yesterday_ds"], context["yesterday_ds_nodash"]) == ("2024-03-04", "20240304")
    assert (context["tomorrow_ds"], context["tomorrow_ds_nodash"]) == ("2024-03-06", "20240306")
    assert context["inlets"] == [] and context["outlets"] == []
    assert context["test_mode"] is False
    assert context["expanded_ti_count"] is None
    assert context["dag_run"].conf == {}


def test_a_run_started_by_hand_has_its_own_date_as_next_and_previous() -> None:
    dag = _dag()
    context = _context(dag, _run(dag, run_type="manual"))
    assert context["next_execution_date"] == context["prev_execution_date"] == DAY
    assert context["next_ds"] == context["prev_ds"] == "2024-03-05"


def test_a_timedelta_schedule_and_no_schedule() -> None:
    dag = _dag(timedelta(hours=6))
    context = _context(dag, _run(dag, DAY + timedelta(hours=6)))
    assert context["prev_execution_date"] == DAY
    assert context["next_execution_date"] == DAY + timedelta(hours=12)
    unscheduled = _dag(None)
    context = _context(unscheduled, _run(unscheduled, run_type="asset_triggered"))
    for key in ("next_execution_date", "next_ds", "prev_execution_date", "prev_ds_nodash"):
        assert context[key] is None, key
        assert dict.__getitem__(context, key) is None, key  # stored None: `is None` holds


def test_previous_successful_run_is_read_once_and_only_when_used() -> None:
    dag = _dag()
    store = CountingStore()
    older = replace(_run(dag, DAY - timedelta(days=3)), state=DagRunState.SUCCESS)
    older = replace(older, start_date=DAY - timedelta(days=2), end_date=DAY - timedelta(days=1))
    failed = replace(_run(dag, DAY - timedelta(days=1)), state=DagRunState.FAILED)
    later = replace(_run(dag, DAY + timedelta(days=1)), state=DagRunState.SUCCESS)
    for run in (older, failed, later):
        store.create_dag_run(run, [])
    context = _context(dag, _run(dag), store)
    copied = {**context, "more": 1}  # what a **context callable or a template receives
    assert store.reads == 0
    assert context["prev_data_interval_start_success"] == older.data_interval_start
    assert context["prev_data_interval_end_success"] == older.data_interval_end
    assert context["prev_start_date_success"] == older.start_date
    assert copied["prev_end_date_success"] == older.end_date
    assert context["prev_execution_date_success"] == older.logical_date
    assert store.reads == 1


def test_no_previous_successful_run_gives_none() -> None:
    dag = _dag()
    context = _context(dag, _run(dag))
    for key in (
        "prev_data_interval_start_success",
        "prev_data_interval_end_success",
        "prev_start_date_success",
        "prev_end_date_success",
    ):
        assert context[key] is None, key
        assert context.get(key) is None, key


def test_a_deprecated_key_notes_its_replacement_once_when_first_used(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dag = _dag()
    log = logging.getLogger("headwater.test.attempt")
    context = _context(dag, _run(dag), log=log)
    with caplog.at_level(logging.WARNING, logger=log.name):
        _ = {**context}, repr(dict(context)), list(context.items())  # copies, shows: no use
        assert caplog.messages == []
        assert context["execution_date"].minute == 0
        assert f"{context['execution_date']:%Y}" == "2024"
        assert context.get("next_ds") == "2024-03-06"
    assert caplog.messages == [deprecation_note("execution_date"), deprecation_note("next_ds")]
    assert "use logical_date instead" in caplog.messages[0]
    assert set(REPLACEMENTS) >= {"execution_date", "triggering_dataset_events"}


def test_a_stand_in_behaves_like_its_value() -> None:
    used: list[str] = []
    value = LazyValue(lambda: DAY, lambda: used.append("used"))
    assert repr(value) == repr(DAY) and used == []
    assert isinstance(value, datetime)
    assert value + timedelta(days=1) == DAY + timedelta(days=1)
    assert DAY + timedelta(days=1) - value == timedelta(days=1)
    assert value < DAY + timedelta(seconds=1) and value == DAY and hash(value) == hash(DAY)
    assert str(value) == str(DAY) and value.year == 2024
    assert pickle.loads(pickle.dumps(value)) == DAY
    assert used == ["used"]
    text = LazyValue(lambda: "2024-03-05")
    assert text.replace("-", "") == "20240305" and len(text) == 10 and "03" in text
    assert not LazyValue(lambda: None) and LazyValue(lambda: None) == None  # noqa: E711
    assert list(range(LazyValue(lambda: 2))) == [0, 1]


def test_triggering_dataset_events_is_the_asset_events_mapping() -> None:
    dag = _dag()
    context = _context(dag, _run(dag))
    assert context["triggering_dataset_events"] is context["triggering_asset_events"]
    assert dict(context["triggering_dataset_events"]) == {}


def test_macros_as_airflow_has_them() -> None:
    assert 0 <= MACROS.random() < 1
    assert MACROS.ds_add("2024-01-31", 1) == "2024-02-01"
    assert MACROS.ds_format("2024-01-31", "%Y-%m-%d", "%d/%m/%Y") == "31/01/2024"
    assert MACROS.dateutil.relativedelta.relativedelta(months=1).months == 1
    assert MACROS.time.time() > 0 and MACROS.uuid.uuid4().version == 4
    assert MACROS.datetime(2024, 1, 1) + MACROS.timedelta(days=1) == datetime(2024, 1, 2)


def test_test_mode_is_true_within_the_block() -> None:
    dag = _dag()
    with attempts_in_test_mode():
        assert _context(dag, _run(dag))["test_mode"] is True
    assert _context(dag, _run(dag))["test_mode"] is False


def test_task_parameters_named_like_keys_are_filled_in_a_run() -> None:
    with DAG("ctx_run", schedule="@daily", start_date=START) as dag:

        @task
        def run_me(sleep_seconds: int, task_instance_key_str):  # type: ignore[no-untyped-def]
            return f"{task_instance_key_str}:{sleep_seconds}"

        @task
        def dates(execution_date, prev_start_date_success, yesterday_ds):  # type: ignore[no-untyped-def]
            return [execution_date.isoformat(), prev_start_date_success is None, yesterday_ds]

        @task
        def count(value, expanded_ti_count):  # type: ignore[no-untyped-def]
            return value * expanded_ti_count

        run_me.override(task_id="first")(sleep_seconds=1)
        dates()
        count.expand(value=[1, 2])
    result = run_dag(dag, logical_date=DAY)
    assert result.xcom("first") == "ctx_run__first__20240305:1"
    assert result.xcom("dates") == [DAY.isoformat(), True, "2024-03-04"]
    assert result.xcom("count") == [2, 4]
    assert result.log("dates").count(deprecation_note("execution_date")) == 1
    assert deprecation_note("yesterday_ds") in result.log("dates")
