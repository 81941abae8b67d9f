"""Serialized DAGs: JSON round trips that keep the structure, and the engine behaving the same.

Each DAG is built, serialized, sent through ``json.dumps``/``json.loads`` (as the database
would) and rebuilt; the rebuilt DAG must look the same and, driven through the engine with
the same scripted attempt outcomes, end in the same states at the same (fake) times.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from headwater import DAG, Param, TaskGroup, TriggerRule, task
from headwater.authoring.mapping import MappedOperator
from headwater.authoring.operator import BaseOperator
from headwater.authoring.params import resolve_params
from headwater.authoring.schedules import Schedule
from headwater.clock import FakeClock
from headwater.dag_processing.serialized_dag import (
    SERIALIZATION_VERSION,
    deserialize_dag,
    serialize_dag,
    serialized_dag_hash,
)
from headwater.dag_processing.serialized_errors import SerializedDagError
from headwater.engine.dagrun import DagRunEngine
from headwater.engine.records import AttemptOutcome, DagRun
from headwater.engine.states import TaskInstanceState
from headwater.engine.xcoms import XComs
from headwater.exceptions import HeadwaterError, ParamValidationError
from headwater.operators import (
    BashOperator,
    BranchPythonOperator,
    EmptyOperator,
    PythonOperator,
    ShortCircuitOperator,
)
from headwater.store.memory import MemoryStore
from headwater.testing import load_dags
from headwater.xcom_serializers import JsonSerializer

START = datetime(2024, 1, 1, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _noop() -> None:
    return None


def _callback(context: dict[str, Any]) -> None:
    return None


def round_trip(dag: DAG) -> DAG:
    """``dag`` serialized, stored as JSON text, read back and rebuilt."""
    return deserialize_dag(json.loads(json.dumps(serialize_dag(dag))))


# -- DAGs under test ---------------------------------------------------------------------------


def settings_dag() -> DAG:
    """Every DAG and base operator setting, params of several kinds, callbacks."""
    with DAG(
        "settings",
        schedule="@daily",
        start_date=START,
        end_date=datetime(2025, 1, 1, tzinfo=UTC),
        catchup=True,
        max_active_runs=3,
        max_active_tasks=5,
        dagrun_timeout=timedelta(hours=1),
        tags=["finance", "daily"],
        description="Every base setting",
        doc_md="# Settings",
        is_paused_upon_creation=True,
        on_failure_callback=_callback,
        default_args={"owner": "ana", "retries": 1},
        params={
            "region": Param("eu", enum=["eu", "us"], description="where to load"),
            "limit": Param(10, type="integer", minimum=1),
            "day": Param(date(2024, 1, 1)),
            "token": Param(type="string", minLength=3),
            "plain": 3,
        },
    ) as dag:
        extract = BashOperator(
            task_id="extract",
            bash_command="echo {{ ds }}",
            retries=3,
            retry_delay=timedelta(seconds=10),
            retry_exponential_backoff=True,
            max_retry_delay=timedelta(seconds=25),
            execution_timeout=timedelta(minutes=2),
            pool="db",
            pool_slots=2,
            priority_weight=7,
            queue="heavy",
            doc_md="Extract the day.",
            on_failure_callback=_callback,
            on_retry_callback=_callback,
        )
        transform = PythonOperator(
            task_id="transform", python_callable=_noop, retries=0, priority_weight=3
        )
        cleanup = EmptyOperator(task_id="cleanup", trigger_rule=TriggerRule.ALL_DONE)
        alert = EmptyOperator(
            task_id="alert", trigger_rule="one_failed", on_success_callback=_callback
        )
        extract >> transform >> [cleanup, alert]
    return dag


def branching_dag() -> DAG:
    """Branches to a task and to a nested group, groups as endpoints, short circuits."""
    with DAG("branching", schedule=timedelta(hours=6), start_date=START) as dag:

        @task.branch
        def choose() -> str:
            return "fast"

        start = EmptyOperator(task_id="start")
        pick = choose()
        with TaskGroup("reports", tooltip="all reports") as reports:
            summary = EmptyOperator(task_id="summary")
            with TaskGroup("detail") as detail:
                a = EmptyOperator(task_id="a")
                b = EmptyOperator(task_id="b", priority_weight=5)
                a >> b
            summary >> detail
        fast = EmptyOperator(task_id="fast")
        join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
        gate = ShortCircuitOperator(
            task_id="gate", python_callable=_noop, ignore_downstream_trigger_rules=False
        )
        after_gate = EmptyOperator(task_id="after_gate")
        final = EmptyOperator(task_id="final", trigger_rule="all_done")
        classic = BranchPythonOperator(task_id="classic", python_callable=_noop)
        with TaskGroup("flat", prefix_group_id=False) as flat:
            EmptyOperator(task_id="unprefixed")
            with TaskGroup("inner") as inner:
                EmptyOperator(task_id="deep")
        start >> pick >> [reports, fast]
        [reports, fast] >> join >> gate >> after_gate >> final >> classic >> [flat, inner]
    return dag


def mapping_dag() -> DAG:
    """Mapped tasks over literals, upstream outputs, expand_kwargs, partial references."""
    with DAG("mapping", schedule="@once", start_date=START, max_active_tasks=4) as dag:

        @task(multiple_outputs=True)
        def discover() -> dict[str, Any]:
            return {"files": ["a", "b"], "count": 2}

        @task
        def size(path: str) -> int:
            return len(path)

        @task
        def total(values: list[int]) -> int:
            return sum(values)

        @task
        def square(x: int) -> int:
            return x * x

        @task
        def pair(a: int, b: Any) -> str:
            return f"{a}{b}"

        @task
        def base() -> int:
            return 1

        @task
        def add(base: int, x: int) -> int:
            return base + x

        @task
        def configs() -> list[dict[str, int]]:
            return [{"a": 1, "b": 2}]

        @task
        def run_config(a: int, b: int) -> int:
            return a + b

        found = discover()
        sizes = size.expand(path=found["files"])
        total(sizes)
        square.expand(x=[1, 2, 3])
        pair.expand(a=[1, 2], b={"x": 1, "y": 2, "z": 3})
        add.partial(base=base()).expand(x=[10, 20])
        run_config.expand_kwargs([{"a": 1, "b": 2}, {"a": 3, "b": 4}])
        run_config.expand_kwargs(configs())
        size.expand(path=sizes)
        echo = BashOperator.partial(
            task_id="echo", retries=2, retry_delay=timedelta(seconds=5), pool="shell"
        ).expand(bash_command=["echo 1", "echo 2"])
        found >> echo
    return dag


BUILDERS: dict[str, Callable[[], DAG]] = {
    "settings": settings_dag,
    "branching": branching_dag,
    "mapping": mapping_dag,
}


# -- what "the same structure" means -----------------------------------------------------------


def operator_name(task: BaseOperator) -> str:
    cls = task.operator_class if isinstance(task, MappedOperator) else type(task)
    return cls.custom_operator_name or cls.__name__


def describe_task(task: BaseOperator) -> dict[str, Any]:
    group = task.task_group
    described = {
        "operator": operator_name(task),
        "upstream": list(task.upstream_task_ids),
        "downstream": list(task.downstream_task_ids),
        "group": group.group_id if group is not None else None,
        "trigger_rule": task.trigger_rule,
        "retries": task.retries,
        "retry_delay": task.retry_delay,
        "retry_exponential_backoff": task.retry_exponential_backoff,
        "max_retry_delay": task.max_retry_delay,
        "execution_timeout": task.execution_timeout,
        "pool": task.pool,
        "pool_slots": task.pool_slots,
        "priority_weight": task.priority_weight,
        "queue": task.queue,
        "owner": task.owner,
        "doc_md": task.doc_md,
        "template_fields": tuple(task.template_fields),
        "callbacks": [
            name
            for name in ("on_success_callback", "on_failure_callback", "on_retry_callback")
            if getattr(task, name) is not None
        ],
        "mapped": task.is_mapped,
    }
    if isinstance(task, MappedOperator):
        described["expand"] = type(task.expand_input).__name__
        described["references"] = [
            (ref.operator.task_id, ref.key) for ref in task.expand_input.references()
        ]
    return described


def describe(dag: DAG) -> dict[str, Any]:
    """Everything the engine and the scheduler read from a DAG, as comparable values."""
    return {
        "dag_id": dag.dag_id,
        "fileloc": dag.fileloc,
        "schedule": (type(dag.schedule).__name__, dag.schedule.description),
        "start_date": dag.start_date,
        "end_date": dag.end_date,
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks,
        "dagrun_timeout": dag.dagrun_timeout,
        "tags": dag.tags,
        "description": dag.description,
        "doc_md": dag.doc_md,
        "is_paused_upon_creation": dag.is_paused_upon_creation,
        "dag_callbacks": [
            dag.on_success_callback is not None,
            dag.on_failure_callback is not None,
        ],
        "params": {
            name: (p.default, p.description, p.schema, p.has_default)
            for name, p in dag.params.items()
        },
        "groups": {
            group_id: (
                group.parent_group.group_id if group.parent_group else None,
                group.prefix_group_id,
                group.tooltip,
                sorted(t.task_id for t in group.iter_tasks()),
                sorted(t.task_id for t in group._downstream_endpoints()),
            )
            for group_id, group in dag.task_groups.items()
        },
        "tasks": {task_id: describe_task(t) for task_id, t in dag.task_dict.items()},
        "task_order": list(dag.task_dict),
        "topological_order": [t.task_id for t in dag.topological_sort()],
        "roots": [t.task_id for t in dag.roots],
        "leaves": [t.task_id for t in dag.leaves],
    }


# -- structure ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILDERS)
def test_round_trip_keeps_the_structure(name: str) -> None:
    original = BUILDERS[name]()
    rebuilt = round_trip(original)
    assert describe(rebuilt) == describe(original)


@pytest.mark.parametrize("name", BUILDERS)
def test_serializing_a_rebuilt_dag_gives_the_same_json(name: str) -> None:
    data = serialize_dag(BUILDERS[name]())
    again = serialize_dag(deserialize_dag(json.loads(json.dumps(data))))
    assert again == data
    assert serialized_dag_hash(again) == serialized_dag_hash(data)


def test_the_settings_that_drive_the_engine_survive() -> None:
    rebuilt = round_trip(settings_dag())
    extract = rebuilt.get_task("extract")
    assert extract.retries == 3
    assert extract.retry_delay == timedelta(seconds=10)
    assert extract.retry_exponential_backoff is True
    assert extract.max_retry_delay == timedelta(seconds=25)
    assert extract.execution_timeout == timedelta(minutes=2)
    assert (extract.pool, extract.pool_slots, extract.priority_weight) == ("db", 2, 7)
    assert (extract.queue, extract.owner, extract.doc_md) == ("heavy", "ana", "Extract the day.")
    assert tuple(extract.template_fields) == ("bash_command", "env", "cwd")
    assert rebuilt.get_task("transform").retries == 0
    assert rebuilt.get_task("cleanup").retries == 1  # from default_args
    assert rebuilt.get_task("cleanup").trigger_rule is TriggerRule.ALL_DONE
    assert rebuilt.get_task("alert").trigger_rule is TriggerRule.ONE_FAILED
    assert rebuilt.dagrun_timeout == timedelta(hours=1)
    assert (rebuilt.max_active_runs, rebuilt.max_active_tasks) == (3, 5)
    assert rebuilt.schedule.interval_for(START) == settings_dag().schedule.interval_for(START)
    assert rebuilt.fileloc == __file__


def test_operator_names_and_groups_survive() -> None:
    rebuilt = round_trip(branching_dag())
    assert operator_name(rebuilt.get_task("choose")) == "@task.branch"
    assert operator_name(rebuilt.get_task("classic")) == "BranchPythonOperator"
    assert operator_name(rebuilt.get_task("gate")) == "ShortCircuitOperator"
    assert set(rebuilt.task_groups) == {
        "reports",
        "reports.detail",
        "flat",
        "inner",
    }
    detail = rebuilt.task_groups["reports.detail"]
    assert detail.parent_group is rebuilt.task_groups["reports"]
    assert [t.task_id for t in detail._downstream_endpoints()] == ["reports.detail.a"]
    assert rebuilt.get_task("unprefixed").task_group is rebuilt.task_groups["flat"]
    assert set(rebuilt.get_task("join").upstream_task_ids) == {"reports.detail.b", "fast"}


def test_mapped_tasks_keep_their_inputs_and_dependencies() -> None:
    rebuilt = round_trip(mapping_dag())
    sizes = rebuilt.get_task("size")
    assert isinstance(sizes, MappedOperator)
    assert [(r.operator.task_id, r.key) for r in sizes.expand_input.references()] == [
        ("discover", "files")
    ]
    assert sizes.expand_input.references()[0].operator is rebuilt.get_task("discover")
    assert rebuilt.get_task("discover").multiple_outputs is True
    assert operator_name(sizes) == "@task"
    add = rebuilt.get_task("add")
    assert list(add.upstream_task_ids) == ["base"]  # the partial() reference
    echo = rebuilt.get_task("echo")
    assert isinstance(echo, MappedOperator)
    assert (operator_name(echo), echo.retries, echo.pool) == ("BashOperator", 2, "shell")
    again = rebuilt.get_task("size__1")
    assert isinstance(again, MappedOperator)
    assert again.expand_input.references()[0].operator is sizes  # a mapped task's output


def test_a_rebuilt_task_cannot_run() -> None:
    rebuilt = round_trip(settings_dag())
    with pytest.raises(HeadwaterError, match="workers import the DAG file"):
        rebuilt.get_task("extract").execute({})
    callback = rebuilt.on_failure_callback
    assert callback is not None and rebuilt.on_success_callback is None
    with pytest.raises(SerializedDagError, match="cannot run"):
        callback({})


def test_the_format_is_plain_json() -> None:
    data = serialize_dag(mapping_dag())
    assert data["version"] == SERIALIZATION_VERSION
    assert json.loads(json.dumps(data)) == data
    tasks = {t["task_id"]: t for t in data["dag"]["tasks"]}
    assert tasks["square"]["mapped"]["expand"] == {
        "kind": "dict_of_lists",
        "arguments": {"x": {"length": 3}},
    }
    assert tasks["size"]["mapped"]["expand"]["arguments"] == {
        "path": {"xcom": {"task_id": "discover", "key": "files"}}
    }
    assert tasks["run_config__1"]["mapped"]["expand"] == {
        "kind": "list_of_dicts",
        "value": {"xcom": {"task_id": "configs", "key": "return_value"}},
    }


# -- schedules, dates, params ------------------------------------------------------------------


@pytest.mark.parametrize(
    "schedule",
    [None, "@once", "@daily", "@hourly", "0 6 * * 1-5", timedelta(hours=6), timedelta(seconds=90)],
)
def test_every_schedule_kind_round_trips(schedule: Any) -> None:
    original = DAG("scheduled", schedule=schedule, start_date=START)
    rebuilt = round_trip(original)
    assert type(rebuilt.schedule) is type(original.schedule)
    assert rebuilt.schedule.description == original.schedule.description
    moment = datetime(2024, 3, 5, 7, 30, tzinfo=UTC)
    assert rebuilt.schedule.interval_for(moment) == original.schedule.interval_for(moment)
    assert rebuilt.schedule.next_interval(moment) == original.schedule.next_interval(moment)


def test_a_named_time_zone_is_kept() -> None:
    paris = ZoneInfo("Europe/Paris")
    original = DAG(
        "paris",
        schedule="0 6 * * *",
        start_date=datetime(2024, 3, 1, tzinfo=paris),
        end_date=datetime(2024, 12, 1, tzinfo=timezone_plus_two()),
    )
    data = serialize_dag(original)
    assert data["dag"]["start_date"] == "2024-03-01T00:00:00+01:00[Europe/Paris]"
    rebuilt = deserialize_dag(data)
    assert rebuilt.start_date == original.start_date
    assert rebuilt.start_date is not None and rebuilt.start_date.tzinfo == paris
    assert rebuilt.end_date == original.end_date
    after_dst = datetime(2024, 4, 1, tzinfo=paris)
    assert rebuilt.schedule.next_interval(after_dst) == original.schedule.next_interval(after_dst)


def timezone_plus_two() -> Any:
    from datetime import timezone

    return timezone(timedelta(hours=2))


CONFS: list[dict[str, Any] | None] = [
    {"token": "abc"},
    {"token": "abc", "region": "us", "limit": 3, "extra": [1]},
    {"token": "abc", "region": "mars"},
    {"token": "abc", "limit": 0},
    {"token": "abc", "limit": "ten"},
    {"token": "ab"},
    {"region": "us"},
    None,
]


@pytest.mark.parametrize("conf", CONFS)
def test_params_accept_and_refuse_the_same_confs(conf: dict[str, Any] | None) -> None:
    original, rebuilt = settings_dag(), round_trip(settings_dag())

    def outcome(dag: DAG) -> Any:
        try:
            return resolve_params(dag.params, conf)
        except ParamValidationError as exc:
            return f"refused: {exc}"

    assert outcome(rebuilt) == outcome(original)


def test_a_refused_conf_names_the_field() -> None:
    rebuilt = round_trip(settings_dag())
    with pytest.raises(ParamValidationError, match=r"param 'region'.*'mars' is not one of"):
        resolve_params(rebuilt.params, {"token": "abc", "region": "mars"})
    assert resolve_params(rebuilt.params, {"token": "abc"})["day"] == date(2024, 1, 1)


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [SERIALIZATION_VERSION + 1, 0, None, "1"])
def test_an_unknown_version_is_refused(version: Any) -> None:
    data = serialize_dag(settings_dag())
    data["version"] = version
    with pytest.raises(SerializedDagError, match=f"format version {version!r}.*reads version"):
        deserialize_dag(data)


def test_data_without_a_version_is_refused() -> None:
    with pytest.raises(SerializedDagError, match="format version None"):
        deserialize_dag({"dag": {}})


def test_malformed_data_is_a_clear_error() -> None:
    data = serialize_dag(settings_dag())
    del data["dag"]["tasks"][0]["retries"]
    with pytest.raises(SerializedDagError, match="'settings' is malformed: KeyError: 'retries'"):
        deserialize_dag(data)


def test_an_edge_stored_on_one_side_only_is_refused() -> None:
    data = serialize_dag(settings_dag())
    data["dag"]["tasks"][0]["downstream_task_ids"].append("cleanup")
    with pytest.raises(SerializedDagError, match="'extract' -> 'cleanup' is stored on one side"):
        deserialize_dag(data)


def test_what_json_cannot_hold_is_refused_when_serializing() -> None:
    class Custom(Schedule):
        pass

    with pytest.raises(SerializedDagError, match="schedule of type Custom"):
        serialize_dag(DAG("custom", schedule=Custom()))
    with pytest.raises(SerializedDagError, match="default of param 'thing'"):
        serialize_dag(DAG("odd", params={"thing": object()}))


# -- the engine behaves the same ---------------------------------------------------------------


@dataclass
class Step:
    """How one scripted attempt ends, and what it pushes before it does."""

    state: str = "success"
    xcoms: dict[str, Any] = field(default_factory=dict)
    follow: list[str] | None = None
    short_circuit: str | None = None
    seconds: float = 0.0


def _step(script: dict[str, list[Step]], label: str, task_id: str, try_number: int) -> Step:
    steps = script.get(label) or script.get(task_id) or [Step()]
    return steps[min(try_number, len(steps)) - 1]


def drive(
    dag: DAG, script: dict[str, list[Step]], conf: dict[str, Any] | None
) -> tuple[str, list[tuple[Any, ...]], dict[str, tuple[Any, ...]]]:
    """Run ``dag`` through the engine with scripted outcomes; return what happened."""
    store = MemoryStore()
    xcoms = XComs(store, JsonSerializer(), 1_000_000)
    clock = FakeClock(START)
    run = DagRun(
        dag_id=dag.dag_id,
        run_id="scripted",
        logical_date=START,
        data_interval_start=START,
        data_interval_end=START,
        params=resolve_params(dag.params, conf),
    )
    engine = DagRunEngine.create(dag, store, xcoms, run)
    engine.start(clock.now())
    trace: list[tuple[Any, ...]] = []
    timed_out = False
    while not engine.is_finished:
        if engine.timed_out(clock.now()):
            engine.fail_unfinished(clock.now(), "run timed out")
            timed_out = True
            break
        ready = engine.schedule(clock.now())
        if not ready:
            due = engine.next_retry_at()
            if due is None:
                break
            clock.advance(due - clock.now())
            continue
        engine.mark_queued(ready)
        for ti in ready:
            engine.start_attempt(ti.task_id, ti.map_index, clock.now())
            step = _step(script, ti.key.label, ti.task_id, ti.try_number)
            for name, value in step.xcoms.items():
                xcoms.push(ti.key, name, value)
            clock.advance(timedelta(seconds=step.seconds))
            outcome = AttemptOutcome(
                state=TaskInstanceState(step.state),
                error="scripted failure" if step.state == "failed" else None,
                follow_branches=step.follow,
                short_circuit=step.short_circuit,
            )
            state = engine.finish_attempt(ti.task_id, ti.map_index, outcome, clock.now())
            elapsed = (clock.now() - START).total_seconds()
            trace.append((elapsed, ti.key.label, ti.try_number, state.value))
    final = engine.run.state if timed_out else engine.finalize(clock.now())
    states = {
        ti.key.label: (ti.state.value, ti.try_number, ti.error)
        for ti in store.get_task_instances(dag.dag_id, "scripted")
    }
    return final.value, trace, states


TOKEN = {"token": "abc"}
DISCOVERED = {"return_value": {"files": ["a", "b", "c"]}, "files": ["a", "b", "c"], "count": 3}

SCENARIOS: dict[str, tuple[Callable[[], DAG], dict[str, list[Step]], dict[str, Any] | None]] = {
    "all succeed": (settings_dag, {}, TOKEN),
    "retries with backoff, then success": (
        settings_dag,
        {"extract": [Step("failed"), Step("failed"), Step("failed"), Step()]},
        TOKEN,
    ),
    "retries run out": (
        settings_dag,
        {"extract": [Step("failed")], "cleanup": [Step("failed"), Step()]},
        TOKEN,
    ),
    "a skipped task": (settings_dag, {"transform": [Step("skipped")]}, TOKEN),
    "dagrun timeout": (settings_dag, {"transform": [Step(seconds=7200)]}, TOKEN),
    "branch to a task": (branching_dag, {"choose": [Step(follow=["fast"])]}, None),
    "branch to a group": (branching_dag, {"choose": [Step(follow=["reports"])]}, None),
    "branch to a nested group": (
        branching_dag,
        {"choose": [Step(follow=["reports.detail"])], "classic": [Step(follow=["inner"])]},
        None,
    ),
    "branch to nothing": (branching_dag, {"choose": [Step(follow=[])]}, None),
    "short circuit, direct": (branching_dag, {"gate": [Step(short_circuit="direct")]}, None),
    "short circuit, all": (branching_dag, {"gate": [Step(short_circuit="all")]}, None),
    "a failed branch": (branching_dag, {"fast": [Step("failed")]}, None),
    "mapping": (
        mapping_dag,
        {
            "discover": [Step(xcoms=DISCOVERED)],
            "size[0]": [Step(xcoms={"return_value": 1})],
            "size[1]": [Step(xcoms={"return_value": 2})],
            "size[2]": [Step(xcoms={"return_value": 3})],
            "base": [Step(xcoms={"return_value": 5})],
            "configs": [Step(xcoms={"return_value": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]})],
            "echo[1]": [Step("failed"), Step()],
            "pair[4]": [Step("failed")],
        },
        None,
    ),
    "mapping over zero items": (
        mapping_dag,
        {
            "discover": [Step(xcoms={**DISCOVERED, "files": []})],
            "configs": [Step(xcoms={"return_value": []})],
        },
        None,
    ),
    "mapping over what is not a list": (
        mapping_dag,
        {
            "discover": [Step(xcoms={**DISCOVERED, "files": 5})],
            "configs": [Step(xcoms={"return_value": [{"a": 1}, 7]})],
        },
        None,
    ),
    "mapping when nothing was pushed": (mapping_dag, {}, None),
}


def run_scenario(name: str, *, rebuilt: bool = False) -> tuple[Any, ...]:
    builder, script, conf = SCENARIOS[name]
    dag = round_trip(builder()) if rebuilt else builder()
    return drive(dag, script, conf)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_engine_behaves_the_same(scenario: str) -> None:
    assert run_scenario(scenario, rebuilt=True) == run_scenario(scenario)


def test_the_scripted_runs_cover_what_they_claim() -> None:
    """Guard the scenarios themselves: they must reach the states they are named after."""
    _, trace, states = run_scenario("retries with backoff, then success")
    assert [t[0] for t in trace if t[1] == "extract"] == [0, 10, 30, 55]  # 10, 20, capped 25
    assert states["extract"][:2] == ("success", 4)

    final, _, states = run_scenario("retries run out")
    assert states["extract"][:2] == ("failed", 4)
    # The leaves (an all_done clean-up, a one_failed alert) succeed, so the run does too.
    assert (final, states["transform"][0], states["alert"][0]) == (
        "success",
        "upstream_failed",
        "success",
    )
    assert states["cleanup"][:2] == ("success", 2)

    final, _, states = run_scenario("dagrun timeout")
    assert final == "failed" and states["cleanup"][0] == "skipped"

    _, _, states = run_scenario("branch to a group")
    assert states["fast"][0] == "skipped" and states["reports.summary"][0] == "success"
    _, _, states = run_scenario("branch to a nested group")
    # reports.detail is not directly downstream of choose: following it skips the others.
    assert states["reports.summary"][0] == states["reports.detail.b"][0] == "skipped"
    assert (states["inner.deep"][0], states["unprefixed"][0]) == ("success", "skipped")
    _, _, states = run_scenario("short circuit, direct")
    assert (states["after_gate"][0], states["final"][0]) == ("skipped", "success")

    final, _, states = run_scenario("mapping")
    labels = list(states)
    assert sum(label.startswith("size[") for label in labels) == 3
    assert sum(label.startswith("size__1[") for label in labels) == 3
    assert sum(label.startswith("pair[") for label in labels) == 6
    assert sum(label.startswith("run_config__1[") for label in labels) == 2
    assert states["echo[1]"][:2] == ("success", 2)
    assert final == "failed"  # pair[4] is a leaf

    _, _, states = run_scenario("mapping over zero items")
    assert states["size"] == ("skipped", 0, "mapped over zero items")
    assert states["total"][0] == "skipped"

    _, _, states = run_scenario("mapping over what is not a list")
    assert states["size"][0] == "failed"
    assert "cannot map over path: the value is a int" in str(states["size"][2])
    assert "element 1 is int, not a dict" in str(states["run_config__1"][2])


# -- the examples ------------------------------------------------------------------------------


def test_the_examples_serialize_and_rebuild() -> None:
    bag = load_dags(EXAMPLES)
    assert not bag.import_errors
    assert set(bag.dags) >= {"multi_file_load", "ml_features", "ml_training"}
    for dag in bag.dags.values():
        data = serialize_dag(dag)
        rebuilt = deserialize_dag(json.loads(json.dumps(data)))
        assert describe(rebuilt) == describe(dag)
        assert serialize_dag(rebuilt) == data
        assert rebuilt.fileloc.startswith(str(EXAMPLES))
