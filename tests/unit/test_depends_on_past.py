"""``depends_on_past``, ``wait_for_downstream`` and ``ignore_first_depends_on_past``
(engine/past_runs.py): the engine over two or more runs of one DAG on the memory store,
driven by hand, so the order is explicit: run 2's instance waits while run 1's runs or
failed, and starts once run 1's succeeded. Also the arguments, the serialized flags, and
``tasks test``/``dags test``, which run as if there were no past."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater import DAG, task
from headwater.authoring.task_group import TaskGroup
from headwater.dag_processing.serialized_dag import deserialize_dag, serialize_dag
from headwater.engine.dagrun import DagRunEngine
from headwater.engine.past_runs import past_task_ids
from headwater.engine.records import AttemptOutcome
from headwater.engine.run_factory import new_dag_run
from headwater.engine.states import TaskInstanceState as S
from headwater.engine.xcoms import XComs
from headwater.exceptions import DagDefinitionError
from headwater.operators import EmptyOperator
from headwater.settings import Settings
from headwater.store.memory import MemoryStore
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)
NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)


class Runs:
    """Runs of one DAG on one memory store, each driven by hand."""

    def __init__(self, dag: DAG, settings: Settings) -> None:
        self.dag = dag
        self.store = MemoryStore()
        self.xcoms = XComs.from_settings(self.store, settings)

    def new(self, day: int, run_type: str = "scheduled") -> DagRunEngine:
        run = new_dag_run(self.dag, logical_date=START + timedelta(days=day), run_type=run_type)
        engine = DagRunEngine.create(self.dag, self.store, self.xcoms, run)
        engine.start(NOW)
        return engine


def ready(engine: DagRunEngine) -> list[str]:
    """Schedule, and the ids of what became ready (queued at once)."""
    tis = engine.schedule(NOW)
    engine.mark_queued(tis)
    return sorted(f"{t.task_id}" if t.map_index < 0 else f"{t.task_id}[{t.map_index}]" for t in tis)


def run_task(engine: DagRunEngine, task_id: str, state: S = S.SUCCESS, map_index: int = -1) -> None:
    engine.start_attempt(task_id, map_index, NOW)
    if state is not S.RUNNING:
        engine.finish_attempt(task_id, map_index, AttemptOutcome(state, retry=False), NOW)


def chain_dag(**past: bool) -> DAG:
    with DAG("chain", start_date=START, schedule="@daily") as dag:
        EmptyOperator(task_id="extract", **past) >> EmptyOperator(task_id="load")
    return dag


# -- the rule ------------------------------------------------------------------------------------


def test_the_first_run_passes_and_the_next_waits_while_the_previous_instance_runs(
    settings: Settings,
) -> None:
    runs = Runs(chain_dag(depends_on_past=True), settings)
    first = runs.new(0)
    assert ready(first) == ["extract"]  # no previous run
    run_task(first, "extract", S.RUNNING)
    second = runs.new(1)
    assert ready(second) == []
    ti = second.get_ti("extract")
    assert ti.state is S.NONE
    assert ti.error == (
        "waiting for the previous run's instance of 'extract' "
        "(run 'scheduled__2024-01-01T00:00:00+00:00', state running)"
    )
    assert second.waiting_on_past() == {"extract": ti.error}
    # The reason is stored: `tasks state` and `dags state` show it.
    stored = {t.task_id: t for t in runs.store.get_task_instances("chain", second.run.run_id)}
    assert stored["extract"].error == ti.error
    first.finish_attempt("extract", -1, AttemptOutcome(S.SUCCESS), NOW)
    assert ready(second) == ["extract"]  # evaluated again on the next schedule
    assert second.get_ti("extract").error is None
    assert second.waiting_on_past() == {}


def test_a_failed_previous_instance_holds_the_next_run_until_it_is_marked(
    settings: Settings,
) -> None:
    runs = Runs(chain_dag(depends_on_past=True), settings)
    first = runs.new(0)
    ready(first)
    run_task(first, "extract", S.FAILED)
    second = runs.new(1)
    for _ in range(3):  # any number of passes: it waits, and no upstream decides otherwise
        assert ready(second) == []
    assert "state failed" in (second.get_ti("extract").error or "")
    from headwater.engine import manual_changes

    stored = DagRunEngine.load_as_stored(
        runs.dag, runs.store, runs.xcoms, "chain", first.run.run_id
    )
    manual_changes.mark(stored, [("extract", -1)], S.SUCCESS, NOW)
    assert ready(second) == ["extract"]


def test_a_skipped_previous_instance_counts_as_done(settings: Settings) -> None:
    runs = Runs(chain_dag(depends_on_past=True), settings)
    first = runs.new(0)
    ready(first)
    run_task(first, "extract", S.SKIPPED)
    assert ready(runs.new(1)) == ["extract"]


def test_only_tasks_with_the_flag_wait(settings: Settings) -> None:
    with DAG("mixed", start_date=START, schedule="@daily") as dag:
        EmptyOperator(task_id="free")
        EmptyOperator(task_id="held", depends_on_past=True)
    runs = Runs(dag, settings)
    first = runs.new(0)
    assert ready(first) == ["free", "held"]
    second = runs.new(1)
    assert ready(second) == ["free"]


def test_the_previous_run_is_the_latest_before_by_logical_date(settings: Settings) -> None:
    runs = Runs(chain_dag(depends_on_past=True), settings)
    day0, day2 = runs.new(0), runs.new(2)
    ready(day0)
    run_task(day0, "extract", S.SUCCESS)
    assert ready(day2) == ["extract"]  # day 0's is the latest before day 2
    day1 = runs.new(1)  # created later (a backfill), but before day 2 by date
    assert ready(day1) == ["extract"]


@pytest.mark.parametrize("catchup", [True, False])
def test_manual_runs_count_as_the_previous_run_only_without_catchup(
    settings: Settings, catchup: bool
) -> None:
    with DAG("caught", start_date=START, schedule="@daily", catchup=catchup) as dag:
        EmptyOperator(task_id="t", depends_on_past=True)
    runs = Runs(dag, settings)
    scheduled = runs.new(0)
    ready(scheduled)
    run_task(scheduled, "t", S.SUCCESS)
    manual = runs.new(1, run_type="manual")
    ready(manual)
    run_task(manual, "t", S.FAILED)
    later = runs.new(2)
    if catchup:  # Airflow: the previous *scheduled* run, day 0's, which succeeded
        assert ready(later) == ["t"]
    else:  # the previous run of any type: the manual one, which failed
        assert ready(later) == []
        assert "(run 'manual__2024-01-02T00:00:00+00:00', state failed)" in (
            later.get_ti("t").error or ""
        )


def test_a_skip_by_the_trigger_rule_does_not_wait(settings: Settings) -> None:
    with DAG("skips", start_date=START, schedule="@daily") as dag:
        up = EmptyOperator(task_id="up")
        up >> EmptyOperator(task_id="held", depends_on_past=True)
    runs = Runs(dag, settings)
    first = runs.new(0)
    ready(first)
    run_task(first, "up", S.RUNNING)  # "held" of run 1 never ends
    second = runs.new(1)
    assert ready(second) == ["up"]
    run_task(second, "up", S.FAILED)
    assert ready(second) == []
    assert second.get_ti("held").state is S.UPSTREAM_FAILED


# -- ignore_first_depends_on_past --------------------------------------------------------------


def two_versions(**flags: bool) -> tuple[DAG, DAG]:
    with DAG("grows", start_date=START, schedule="@daily") as before:
        EmptyOperator(task_id="old")
    with DAG("grows", start_date=START, schedule="@daily") as after:
        EmptyOperator(task_id="old") >> EmptyOperator(task_id="new", depends_on_past=True, **flags)
    return before, after


def test_a_task_added_since_the_previous_run_may_start(settings: Settings) -> None:
    before, after = two_versions()
    runs = Runs(before, settings)
    ready(runs.new(0))
    runs.dag = after
    second = runs.new(1)
    assert ready(second) == ["old"]
    run_task(second, "old")
    assert ready(second) == ["new"]


def test_without_ignore_first_a_task_added_since_waits(settings: Settings) -> None:
    before, after = two_versions(ignore_first_depends_on_past=False)
    runs = Runs(before, settings)
    ready(runs.new(0))
    runs.dag = after
    second = runs.new(1)
    ready(second)
    run_task(second, "old")
    assert ready(second) == []
    assert "ignore_first_depends_on_past is False" in (second.get_ti("new").error or "")


def test_a_task_missing_from_the_previous_run_but_older_than_it_waits(settings: Settings) -> None:
    before, after = two_versions()
    runs = Runs(after, settings)
    first = runs.new(0)  # has "new"
    ready(first)
    runs.dag = before
    ready(runs.new(1))  # has no "new"
    runs.dag = after
    third = runs.new(2)
    ready(third)
    run_task(third, "old")
    assert ready(third) == []
    assert "ran in earlier runs" in (third.get_ti("new").error or "")


# -- wait_for_downstream --------------------------------------------------------------------------


def test_wait_for_downstream_waits_for_the_previous_runs_downstream_instances(
    settings: Settings,
) -> None:
    runs = Runs(chain_dag(wait_for_downstream=True), settings)
    first = runs.new(0)
    ready(first)
    run_task(first, "extract")
    assert ready(first) == ["load"]
    run_task(first, "load", S.RUNNING)
    second = runs.new(1)
    assert ready(second) == []
    assert second.get_ti("extract").error == (
        "waiting for the previous run's instance of 'load', downstream of 'extract' "
        "(run 'scheduled__2024-01-01T00:00:00+00:00', state running) (wait_for_downstream)"
    )
    first.finish_attempt("load", -1, AttemptOutcome(S.SUCCESS), NOW)
    assert ready(second) == ["extract"]


def test_depends_on_past_alone_does_not_wait_for_downstream(settings: Settings) -> None:
    runs = Runs(chain_dag(depends_on_past=True), settings)
    first = runs.new(0)
    ready(first)
    run_task(first, "extract")
    ready(first)
    run_task(first, "load", S.RUNNING)
    assert ready(runs.new(1)) == ["extract"]


# -- mapped tasks -------------------------------------------------------------------------------


def test_a_mapped_task_waits_for_every_map_index_of_the_previous_run(settings: Settings) -> None:
    with DAG("mapped", start_date=START, schedule="@daily") as dag:
        EmptyOperator.partial(task_id="m", depends_on_past=True).expand(doc_md=["a", "b", "c"])
    runs = Runs(dag, settings)
    first = runs.new(0)
    assert ready(first) == ["m[0]", "m[1]", "m[2]"]
    run_task(first, "m", S.SUCCESS, 0)
    run_task(first, "m", S.FAILED, 1)
    second = runs.new(1)
    assert ready(second) == []
    assert second.get_ti("m").error == (
        "waiting for the previous run's instances of 'm' (run "
        "'scheduled__2024-01-01T00:00:00+00:00': 2 of 3 not success or skipped: failed, queued)"
    )
    run_task(first, "m", S.SUCCESS, 2)
    assert ready(second) == []  # index 1 still failed
    stored = DagRunEngine.load_as_stored(dag, runs.store, runs.xcoms, "mapped", first.run.run_id)
    from headwater.engine import manual_changes

    manual_changes.mark(stored, [("m", 1)], S.SUCCESS, NOW)
    assert ready(second) == ["m[0]", "m[1]", "m[2]"]


def test_a_task_of_a_mapped_group_waits_too(settings: Settings) -> None:
    from headwater import task_group

    with DAG("grouped", start_date=START, schedule="@daily") as dag:

        @task_group
        def per_item(item: int) -> None:
            EmptyOperator(task_id="step", depends_on_past=True)

        per_item.expand(item=[1, 2])
    runs = Runs(dag, settings)
    first = runs.new(0)
    assert ready(first) == ["per_item.step[0]", "per_item.step[1]"]
    second = runs.new(1)
    assert ready(second) == []
    assert "'per_item.step'" in (second.get_ti("per_item.step", 0).error or "")
    run_task(first, "per_item.step", S.SUCCESS, 0)
    run_task(first, "per_item.step", S.SUCCESS, 1)
    assert ready(second) == ["per_item.step[0]", "per_item.step[1]"]


# -- arguments, serialization, test commands ---------------------------------------------------


def test_the_flags_come_from_default_args_and_wait_for_downstream_implies_depends_on_past() -> None:
    with DAG("args", start_date=START, default_args={"depends_on_past": True}) as dag:
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b", depends_on_past=False)
        c = EmptyOperator(task_id="c", depends_on_past=False, wait_for_downstream=True)
        with TaskGroup("g"):

            @task(depends_on_past=False, ignore_first_depends_on_past=False)
            def d() -> None: ...

            d()
    assert (a.depends_on_past, b.depends_on_past, c.depends_on_past) == (True, False, True)
    assert dag.task_dict["g.d"].ignore_first_depends_on_past is False
    assert past_task_ids(dag) == {"a", "c"}


def test_a_flag_that_is_not_a_bool_is_refused_naming_the_task() -> None:
    with (
        DAG("bad", start_date=START),
        pytest.raises(
            DagDefinitionError, match="task 't': depends_on_past must be True or False, got 'yes'"
        ),
    ):
        EmptyOperator(task_id="t", depends_on_past="yes")  # type: ignore[arg-type]


def test_the_flags_survive_serialization_and_plain_tasks_store_nothing_new() -> None:
    with DAG("stored", start_date=START) as dag:
        EmptyOperator(task_id="plain")
        EmptyOperator(task_id="past", wait_for_downstream=True, ignore_first_depends_on_past=False)
        EmptyOperator.partial(task_id="m", depends_on_past=True).expand(doc_md=["x"])
    data = serialize_dag(dag)
    specs = {t["task_id"]: t for t in data["dag"]["tasks"]}
    assert not {"depends_on_past", "wait_for_downstream"} & set(specs["plain"])
    loaded = deserialize_dag(data).task_dict
    assert (loaded["past"].depends_on_past, loaded["past"].wait_for_downstream) == (True, True)
    assert loaded["past"].ignore_first_depends_on_past is False
    assert loaded["m"].depends_on_past is True
    assert loaded["plain"].depends_on_past is False


def test_dags_test_has_no_previous_run_and_runs_to_success() -> None:
    with DAG("alone", start_date=START, default_args={"wait_for_downstream": True}) as dag:
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    result = run_dag(dag)
    assert result.state == "success"
    assert result.task_states == {"a": "success", "b": "success"}


def test_a_dag_without_the_flags_reads_nothing_of_earlier_runs(settings: Settings) -> None:
    runs = Runs(chain_dag(), settings)
    calls: list[str] = []
    original = runs.store.get_previous_run_states

    def counting(*args: object, **kwargs: object) -> object:
        calls.append("read")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    runs.store.get_previous_run_states = counting  # type: ignore[method-assign]
    ready(runs.new(0))
    ready(runs.new(1))
    assert calls == []


def test_one_read_per_schedule_for_several_tasks(settings: Settings) -> None:
    past = {"depends_on_past": True}
    with DAG("many", start_date=START, schedule="@daily", default_args=past) as dag:
        for name in "abcd":
            EmptyOperator(task_id=name)
    runs = Runs(dag, settings)
    ready(runs.new(0))
    calls: list[str] = []
    original = runs.store.get_previous_run_states

    def counting(*args: object, **kwargs: object) -> object:
        calls.append("read")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    runs.store.get_previous_run_states = counting  # type: ignore[method-assign]
    second = runs.new(1)
    assert ready(second) == []
    assert calls == ["read"]


def _failing_day_one() -> DAG:
    def work(ds: str) -> None:
        if ds == "2024-01-01":
            raise RuntimeError("day one fails")

    from headwater.operators import PythonOperator

    with DAG("days", start_date=START, schedule="@daily") as dag:
        PythonOperator(task_id="work", python_callable=work, depends_on_past=True)
    return dag


def test_tasks_test_ignores_depends_on_past() -> None:
    from headwater.testing import run_task as run_one

    dag, store = _failing_day_one(), MemoryStore()
    assert run_dag(dag, logical_date=START, store=store).state == "failed"
    result = run_one(dag, "work", logical_date=START + timedelta(days=1), store=store)
    assert result.task_states == {"work": "success"}


def test_an_in_process_run_after_a_failed_one_ends_failed_saying_why() -> None:
    dag, store = _failing_day_one(), MemoryStore()
    assert run_dag(dag, logical_date=START, store=store).state == "failed"
    result = run_dag(dag, logical_date=START + timedelta(days=1), store=store)
    assert result.state == "failed"
    assert result.task_states == {"work": "none"}
    [run] = [r for r in store.list_dag_runs("days") if r.logical_date > START]
    assert run.note == (
        "work: waiting for the previous run's instance of 'work' "
        "(run 'manual__2024-01-01T00:00:00+00:00', state failed)"
    )
