"""TaskFlow and mapping defects: partial() with upstream outputs, argument checks when a DAG
is defined, ``xcom_pull`` without ``task_ids``, and the type of a task's relatives' ids."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from headwater import DAG, task
from headwater.authoring.taskflow import CONTEXT_KEYS
from headwater.clock import FakeClock
from headwater.dag_processing.serialized_dag import deserialize_dag, serialize_dag
from headwater.exceptions import DagDefinitionError, HeadwaterError
from headwater.operations import trigger_run
from headwater.operators import BashOperator, EmptyOperator
from headwater.scheduler.service import build_scheduler
from headwater.settings import load_settings
from headwater.store.sql import SqlStore
from headwater.testing import load_dags, run_dag
from stored_dags import scan_here

START = datetime(2024, 1, 1, tzinfo=UTC)


# -- 1. partial() with another task's output --------------------------------------------------


def test_taskflow_partial_with_an_upstream_output() -> None:
    with DAG("mp", start_date=START) as dag:

        @task
        def n() -> int:
            return 2

        @task
        def add(a: int, b: str) -> str:
            return f"{a}{b}"

        add.partial(a=n()).expand(b=["x", "y"])
    result = run_dag(dag)
    assert result.task_states == {"n": "success", "add[0]": "success", "add[1]": "success"}
    assert result.xcom("add") == ["2x", "2y"]
    assert set(dag.get_task("add").upstream_task_ids) == {"n"}
    assert set(dag.get_task("n").downstream_task_ids) == {"add"}
    assert dag.task_ids == ["n", "add"]  # running it added no task and no edge
    assert set(dag.get_task("add").downstream_task_ids) == set()


def test_classic_partial_with_an_upstream_output() -> None:
    with DAG("bash_mp", start_date=START) as dag:

        @task
        def cmd() -> str:
            return "echo A=$A"

        BashOperator.partial(task_id="b", bash_command=cmd()).expand(env=[{"A": "1"}, {"A": "2"}])
    result = run_dag(dag)
    assert result.succeeded
    assert result.xcom("b") == ["A=1", "A=2"]
    assert set(dag.get_task("b").upstream_task_ids) == {"cmd"}
    # The value from cmd is passed as it is: its "$A" is the shell's, not a template.
    assert result.rendered("b", 1)["bash_command"] == "echo A=$A"


def test_partial_references_inside_task_groups_and_expand_kwargs() -> None:
    from headwater import TaskGroup

    with DAG("grouped_mp", start_date=START) as dag:

        @task
        def base() -> int:
            return 10

        @task
        def total(base: int, x: int, y: int = 0) -> int:
            return base + x + y

        with TaskGroup("g"):
            total.partial(base=base()).expand_kwargs([{"x": 1}, {"x": 2, "y": 5}])
    result = run_dag(dag)
    assert result.succeeded, result.task_states
    assert result.xcom("g.total") == [11, 17]
    assert set(dag.get_task("g.total").upstream_task_ids) == {"g.base"}


def test_a_reference_inside_a_literal_expand_list() -> None:
    with DAG("ref_in_list", start_date=START) as dag:

        @task
        def three() -> int:
            return 3

        @task
        def double(x: int) -> int:
            return 2 * x

        double.expand(x=[three(), 5])
    result = run_dag(dag)
    assert result.xcom("double") == [6, 10]
    assert set(dag.get_task("double").upstream_task_ids) == {"three"}


def test_a_serialized_dag_keeps_the_partial_dependency() -> None:
    with DAG("mp_serialized", start_date=START) as dag:

        @task
        def n() -> int:
            return 2

        @task
        def add(a: int, b: str) -> str:
            return f"{a}{b}"

        @task
        def cmd() -> str:
            return "echo $A"

        add.partial(a=n()).expand(b=["x", "y"])
        BashOperator.partial(task_id="b", bash_command=cmd()).expand(env=[{"A": "1"}])
    rebuilt = deserialize_dag(serialize_dag(dag))
    assert list(rebuilt.get_task("add").upstream_task_ids) == ["n"]
    assert list(rebuilt.get_task("b").upstream_task_ids) == ["cmd"]
    assert [t.task_id for t in rebuilt.topological_sort()] == ["n", "cmd", "add", "b"]


MP_DAG_FILE = """\
from datetime import UTC, datetime

from headwater import DAG, task
from headwater.operators import BashOperator

with DAG("mp", start_date=datetime(2024, 1, 1, tzinfo=UTC)):

    @task
    def n():
        return 2

    @task
    def add(a, b):
        return f"{a}{b}"

    @task
    def cmd():
        return "echo A=$A"

    add.partial(a=n()).expand(b=["x", "y"])
    BashOperator.partial(task_id="b", bash_command=cmd()).expand(env=[{"A": "1"}, {"A": "2"}])
"""


def test_partial_references_run_under_the_scheduler(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Processor -> serialized DAG in the database -> scheduler -> in-process executor."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "mp.py").write_text(MP_DAG_FILE)
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "in_process")
    clock = FakeClock(datetime(2024, 1, 4, 0, 30, tzinfo=UTC))
    store = SqlStore.from_url(db_url, clock=clock)
    scheduler = None
    try:
        report = scan_here(store, folder)
        assert not report.errors, store.list_import_errors()
        run = trigger_run(store, "mp", now=clock.now())
        scheduler = build_scheduler(load_settings(), store=store, clock=clock)
        scheduler.start()
        for _ in range(100):
            current = store.get_dag_run("mp", run.run_id)
            assert current is not None
            if current.state.value in ("success", "failed"):
                break
            scheduler.tick()
            finished = scheduler.executor.poll(timeout=10 if scheduler.executor.has_work else 0)
            if finished:
                scheduler.apply_outcomes(finished)
                scheduler.schedule_runs(clock.now())
        tis = {ti.key.label: ti for ti in store.get_task_instances("mp", run.run_id)}
        assert {label: ti.state.value for label, ti in tis.items()} == {
            "n": "success",
            "cmd": "success",
            "add[0]": "success",
            "add[1]": "success",
            "b[0]": "success",
            "b[1]": "success",
        }
        values = [
            json.loads(store.get_xcom(tis[label].key, "return_value") or "null")
            for label in ("add[0]", "add[1]", "b[0]", "b[1]")
        ]
        assert values == ["2x", "2y", "A=1", "A=2"]
        assert store.get_dag_run("mp", run.run_id).state.value == "success"  # type: ignore[union-attr]
    finally:
        if scheduler is not None:
            scheduler.stop()
        store.close()


# -- 2. TaskFlow arguments are checked when the DAG is defined ---------------------------------


@task
def one(x):  # type: ignore[no-untyped-def]
    return x


@task
def with_context(x, ds, ti, *, params):  # type: ignore[no-untyped-def]
    return f"{x} {ds} {ti.task_id} {sorted(params)}"


@task
def anything(**kwargs):  # type: ignore[no-untyped-def]
    return sorted(k for k in kwargs if k not in CONTEXT_KEYS)


@task
def star(*args):  # type: ignore[no-untyped-def]
    return list(args)


@task
def three(prefix, x, y=0, map_index=None):  # type: ignore[no-untyped-def]
    return f"{prefix}{x}{y}@{map_index}"


BAD_CALLS: list[tuple[str, Callable[[], Any], str]] = [
    ("f(1, 2)", lambda: one(1, 2), "the call does not fit one(x): too many positional arguments"),
    (
        "f(y=1)",
        lambda: one(y=1),
        "the call does not fit one(x): got an unexpected keyword argument 'y'",
    ),
    ("f()", lambda: one(), "the call does not fit one(x): missing a required argument: 'x'"),
    ("f(1, x=2)", lambda: one(1, x=2), "multiple values for argument 'x'"),
    (
        "f.expand(y=[1])",
        lambda: one.expand(y=[1]),
        "expand() does not fit one(x): got an unexpected keyword argument 'y'",
    ),
    (
        "f.partial(y=1)",
        lambda: one.partial(y=1),
        "partial() does not fit one(x): got an unexpected keyword argument 'y'",
    ),
    (
        "partial and expand leave one out",
        lambda: three.partial(prefix="#").expand(y=[1]),
        "partial() plus expand() does not fit three(prefix, x, y=0, map_index=None): "
        "missing a required argument: 'x'",
    ),
    (
        "expand leaves one out",
        lambda: three.expand(x=[1]),
        "expand() does not fit three(prefix, x, y=0, map_index=None): "
        "missing a required argument: 'prefix'",
    ),
    (
        "expand over a partial argument",
        lambda: three.partial(prefix="#", x=1).expand(x=[1]),
        "expand() maps over 'x', already given to partial()",
    ),
    (
        "a literal expand_kwargs element",
        lambda: three.partial(prefix="#").expand_kwargs([{"x": 1}, {"z": 2}]),
        "partial() plus expand_kwargs() element 1 does not fit "
        "three(prefix, x, y=0, map_index=None): got an unexpected keyword argument 'z'",
    ),
    (
        "context keys still need the others",
        lambda: with_context(ds="x"),
        "the call does not fit with_context(x, ds, ti, *, params): "
        "missing a required argument: 'x'",
    ),
    (
        "**kwargs takes no positional argument",
        lambda: anything(1),
        "too many positional arguments",
    ),
    (
        "override keeps the check",
        lambda: one.override(task_id="renamed", retries=2)(),
        "task 'renamed': the call does not fit one(x)",
    ),
    (
        "@task.bash",
        lambda: task.bash(lambda name: f"echo {name}")(nom="x"),
        "got an unexpected keyword argument 'nom'",
    ),
    (
        "templates_dict is only there when the task has one",
        lambda: task(lambda templates_dict: 1)(),
        "missing a required argument: 'templates_dict'",
    ),
]


@pytest.mark.parametrize(
    ("build", "message"), [(b, m) for _, b, m in BAD_CALLS], ids=[c[0] for c in BAD_CALLS]
)
def test_wrong_arguments_fail_when_the_dag_is_defined(
    build: Callable[[], Any], message: str
) -> None:
    with DAG("bad_args", start_date=START) as dag, pytest.raises(DagDefinitionError) as info:
        build()
    assert message in str(info.value)
    assert str(info.value).startswith("task '")
    assert isinstance(info.value, HeadwaterError)
    assert dag.task_ids == []  # no half-made task is left behind


def test_the_error_names_the_task_id_it_would_have_had() -> None:
    with DAG("names", start_date=START):
        one(1)
        with pytest.raises(DagDefinitionError, match=r"^task 'one__1': the call does not fit"):
            one()


def test_a_dag_file_with_wrong_arguments_is_an_import_error(tmp_path: Path) -> None:
    (tmp_path / "wrong.py").write_text(
        textwrap.dedent(
            """\
            from headwater import DAG, task

            @task
            def f(x):
                return x

            with DAG("wrong"):
                f(1, 2)
            """
        )
    )
    bag = load_dags(tmp_path)
    assert len(bag.import_errors) == 1
    error = bag.import_errors[0]
    assert error.line == 8
    assert "task 'f': the call does not fit f(x): too many positional arguments" in str(error)


def test_calls_that_fit_still_load_and_run() -> None:
    with DAG("good_args", start_date=START, params={"p": 1}) as dag:

        @task(multiple_outputs=True)
        def split(a: int, b: int) -> dict[str, int]:
            return {"total": a + b}

        @task(templates_dict={"day": "{{ ds }}"})
        def templated(templates_dict):  # type: ignore[no-untyped-def]
            return templates_dict["day"]

        one(1)
        with_context(2)  # ds, ti and params come from the context
        with_context(x=3, ds="given")  # a context key may still be given
        anything(a=1, b=2)
        star(1, 2, 3)
        out = split(1, b=2)
        one.override(task_id="total")(out["total"])
        three.partial(prefix="#").expand(x=[1, 2])  # complete together; map_index from context
        three.partial(prefix="+", y=9).expand_kwargs([{"x": 1}])
        three.override(task_id="from_task").partial(prefix="=").expand_kwargs(
            one.override(task_id="rows")([{"x": 5}])
        )
        templated()
    result = run_dag(dag, logical_date=datetime(2024, 3, 5, tzinfo=UTC))
    assert result.succeeded, result.task_states
    assert result.xcom("one") == 1
    assert result.xcom("with_context") == "2 2024-03-05 with_context ['p']"
    assert result.xcom("with_context__1") == "3 given with_context__1 ['p']"
    assert result.xcom("anything") == ["a", "b"]
    assert result.xcom("star") == [1, 2, 3]
    assert result.xcom("total") == 3
    assert result.xcom("three") == ["#10@0", "#20@1"]
    assert result.xcom("three__1") == ["+19@0"]
    assert result.xcom("from_task") == ["=50@0"]
    assert result.xcom("templated") == "2024-03-05"


def test_the_context_keys_are_those_the_runtime_passes() -> None:
    """CONTEXT_KEYS must follow headwater.runtime.attempt_context.build_context."""
    with DAG("context_keys", start_date=START) as dag:

        @task
        def names(**kwargs):  # type: ignore[no-untyped-def]
            return sorted(kwargs)

        names()
    assert run_dag(dag).xcom("names") == sorted(CONTEXT_KEYS)


# -- 3. xcom_pull without task_ids ---------------------------------------------------------------


def test_xcom_pull_without_task_ids_reads_the_nearest_upstream_value() -> None:
    with DAG("pull_nearest", start_date=START) as dag:

        @task
        def far(ti):  # type: ignore[no-untyped-def]
            ti.xcom_push("k", "far")
            ti.xcom_push("only_far", 1)

        @task
        def near(ti):  # type: ignore[no-untyped-def]
            ti.xcom_push("k", "near")

        @task
        def beside(ti):  # type: ignore[no-untyped-def]
            ti.xcom_push("k", "not upstream")

        @task
        def pull(ti):  # type: ignore[no-untyped-def]
            return {
                "k": ti.xcom_pull(key="k"),
                "only_far": ti.xcom_pull(key="only_far"),
                "missing": ti.xcom_pull(key="missing"),
                "return_value": ti.xcom_pull(),
            }

        @task
        def own(ti):  # type: ignore[no-untyped-def]
            ti.xcom_push("k", "mine")
            return ti.xcom_pull(key="k")

        first = far()
        first >> near() >> pull()
        mine = own()
        [first, beside()] >> mine
    result = run_dag(dag)
    assert result.succeeded, result.task_states
    assert result.xcom("pull") == {
        "k": "near",
        "only_far": 1,
        "missing": None,
        "return_value": None,
    }
    assert result.xcom("own") == "mine"
    assert sorted(dag.task_ids) == ["beside", "far", "near", "own", "pull"]


def test_xcom_pull_without_task_ids_from_a_mapped_upstream() -> None:
    with DAG("pull_mapped", start_date=START) as dag:

        @task
        def square(x: int) -> int:
            return x * x

        @task
        def empty() -> list[int]:
            return []

        @task
        def pull(ti):  # type: ignore[no-untyped-def]
            return [ti.xcom_pull(), ti.xcom_pull(map_indexes=1)]

        @task
        def pull_empty(ti):  # type: ignore[no-untyped-def]
            return ti.xcom_pull()

        square.expand(x=[2, 3]) >> pull()
        empty() >> pull_empty()
    result = run_dag(dag)
    assert result.xcom("pull") == [[4, 9], 9]
    assert result.xcom("pull_empty") == []  # an empty list pushed by a task is a value


def test_xcom_pull_with_task_ids_is_unchanged() -> None:
    with DAG("pull_named", start_date=START) as dag:

        @task
        def a() -> int:
            return 1

        @task
        def b() -> int:
            return 2

        @task
        def pull(ti):  # type: ignore[no-untyped-def]
            return [ti.xcom_pull("a"), ti.xcom_pull(["a", "b"]), ti.xcom_pull(task_ids=("b",))]

        [a(), b()] >> pull()
    assert run_dag(dag).xcom("pull") == [1, [1, 2], [2]]


# -- 4. upstream_task_ids and downstream_task_ids compare as sets --------------------------------


def test_relatives_ids_compare_like_sets() -> None:
    with DAG("relatives", start_date=START):
        a, b, c = (EmptyOperator(task_id=name) for name in "abc")
        a >> [b, c]
    assert b.upstream_task_ids == {"a"}
    assert a.downstream_task_ids == {"b", "c"}
    assert list(a.downstream_task_ids) == ["b", "c"]  # still in the order the edges were set
