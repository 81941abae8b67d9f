"""Helpers for users' tests: check a DAG folder loads, run a DAG or one task, inspect the result.

Example::

    from headwater.testing import assert_dags_load, run_dag

    def test_dags_load():
        assert_dags_load("dags/")

    def test_etl():
        result = run_dag(etl_dag, conf={"region": "us"})
        assert result.succeeded
        assert result.xcom("transform") == [1, 2, 3]

    def test_load_with_a_scratch_database(tmp_path):
        result = run_dag(
            etl_dag,
            connections={"warehouse": f"sqlite:///{tmp_path / 'w.db'}"},
            variables={"region": "eu"},
        )
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.clock import FakeClock
from headwater.dag_test import DagRunResult, run_dag_in_process, run_task_in_process
from headwater.exceptions import HeadwaterError
from headwater.secrets import Connection, MappingBackend, SecretsBackend
from headwater.store.memory import MemoryStore

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.clock import Clock
    from headwater.loading.dagbag import DagBag
    from headwater.settings import Settings
    from headwater.store.base import MetadataStore

__all__ = [
    "DagRunResult",
    "FakeClock",
    "MemoryStore",
    "assert_dags_load",
    "load_dags",
    "run_dag",
    "run_task",
]

GIVEN = "run_dag/run_task arguments connections= and variables="
"""How the lookups name what a test gives (in "not defined (looked in: ...)" and errors)."""


def _given(
    connections: Mapping[str, Connection | str] | None, variables: Mapping[str, Any] | None
) -> list[SecretsBackend]:
    if not connections and not variables:
        return []
    return [MappingBackend(connections, variables, name=GIVEN)]


def load_dags(folder: str | Path, *, import_timeout_s: float | None = None) -> DagBag:
    """Import every DAG file in ``folder``.

    A file whose import takes longer than ``import_timeout_s`` (default: the setting
    ``scheduler.file_parse_timeout_s``, as the DAG processor uses) is stopped and recorded
    as an import error; the limit needs the main thread (see :mod:`headwater.loading.dagbag`).
    """
    from headwater.loading.dagbag import DagBag

    if import_timeout_s is None:
        from headwater.settings import load_settings

        import_timeout_s = load_settings().scheduler.file_parse_timeout_s
    return DagBag(Path(folder), import_timeout_s=import_timeout_s)


def assert_dags_load(folder: str | Path, *, import_timeout_s: float | None = None) -> DagBag:
    """Fail with every file, line and error if any DAG file in ``folder`` does not load
    (a file that imports for longer than ``import_timeout_s`` does not)."""
    bag = load_dags(folder, import_timeout_s=import_timeout_s)
    if bag.import_errors:
        lines = [f"{len(bag.import_errors)} DAG file(s) failed to load:"]
        lines += [f"  {error}" for error in bag.import_errors]
        raise AssertionError("\n".join(lines))
    return bag


def run_dag(
    dag: DAG,
    *,
    logical_date: datetime | None = None,
    conf: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    clock: Clock | None = None,
    store: MetadataStore | None = None,
    settings: Settings | None = None,
    connections: Mapping[str, Connection | str] | None = None,
    variables: Mapping[str, Any] | None = None,
    partition_key: str | None = None,
) -> DagRunResult:
    """Run the whole DAG in this process and return its states and values.

    Pass a :class:`FakeClock` to make retry delays pass at once (and assert on
    ``clock.slept``). ``connections`` (each a :class:`~headwater.secrets.Connection`, a URI
    or a JSON object in text) and ``variables`` win over every secrets backend and database:
    tasks, templates and hooks find them through :func:`headwater.secrets.get_connection`.
    ``partition_key`` is the partition a partitioned DAG's run works on (a time partition's
    start is its default logical date).
    """
    return run_dag_in_process(
        dag,
        logical_date=logical_date,
        conf=conf,
        run_id=run_id,
        clock=clock,
        store=store,
        settings=settings,
        lookup_first=_given(connections, variables),
        partition_key=partition_key,
    )


def run_task(
    dag: DAG,
    task_id: str,
    *,
    map_index: int = -1,
    logical_date: datetime | None = None,
    conf: Mapping[str, Any] | None = None,
    clock: Clock | None = None,
    store: MetadataStore | None = None,
    settings: Settings | None = None,
    connections: Mapping[str, Connection | str] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> DagRunResult:
    """Run one attempt of one task, ignoring its upstream tasks.

    ``map_index=-1`` picks the first instance of a mapped task. A task mapped over an
    upstream task's output has no instances without it: that raises ``HeadwaterError``.
    ``connections`` and ``variables`` win over every other source, as for :func:`run_dag`.
    """
    from headwater.authoring.mapping import MappedOperator

    task = dag.get_task(task_id)
    if isinstance(task, MappedOperator):
        sources = task.source_task_ids()
        if sources:
            raise HeadwaterError(
                f"task {task_id!r} is mapped over the output of upstream task(s) "
                f"{', '.join(map(repr, sources))}, which run_task does not run; use run_dag"
            )
        map_index = max(map_index, 0)
    return run_task_in_process(
        dag,
        task_id,
        map_index=map_index,
        logical_date=logical_date,
        conf=conf,
        clock=clock,
        store=store,
        settings=settings,
        lookup_first=_given(connections, variables),
    )
