"""Building OpenLineage run events, as the JSON the transports send.

A DAG run is the job ``<dag_id>``, a task attempt the job ``<dag_id>.<task_id>`` (both in
the ``[lineage] namespace``). Facets, as Airflow's provider sends them:

* run: ``nominalTime`` (the data interval), ``parent`` (on task events: the DAG run, which is
  also the root), ``errorMessage`` (on FAIL);
* job: ``jobType`` (processingType ``BATCH``, integration ``HEADWATER``, jobType ``DAG`` or
  ``TASK``), ``documentation`` (the DAG's description), ``sourceCodeLocation`` (the DAG
  file), ``sql`` (a SQL task's statements, secrets masked).

Events are built without importing the ``openlineage-python`` client (0.3-0.4 s of CPU per
process): a DAG run's (two per run, in the scheduler) as JSON objects, a task attempt's (two
per attempt, where the task runs) as JSON text, :class:`EncodedEvent`, joined from parts
encoded once per run and per DAG. Their schema URLs (:data:`SCHEMA_URLS`) name the versions
of the spec and facets whose shapes are built here; a test keeps them equal to the installed
client's, so that a client that moves a facet to a new version is noticed and the shape
checked. The transports send events in the background (:mod:`~headwater.lineage.emitter`).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from headwater.lineage.run_ids import dag_run_uuid, task_attempt_uuid

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.engine.records import DagRun

INTEGRATION = "HEADWATER"
MAX_ERROR_CHARS = 4000
"""An error message stops here: the whole traceback is in the attempt's log."""

Event = dict[str, Any]
"""An OpenLineage run event as a JSON object (a DAG run's; a task attempt's is built as
text, :class:`EncodedEvent`)."""


@functools.cache
def producer() -> str:
    """The URI naming what produced the events: this version of headwater (its
    ``__version__``, which a test keeps equal to the installed distribution's: reading the
    distribution's metadata cost each worker process 15 ms of CPU at its first event)."""
    from headwater import __version__

    return f"https://pypi.org/project/headwater/{__version__}/"


_SPEC = "https://openlineage.io/spec"
SCHEMA_URLS = {
    "event": f"{_SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent",
    "nominalTime": f"{_SPEC}/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet",
    "parent": f"{_SPEC}/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
    "errorMessage": f"{_SPEC}/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "jobType": f"{_SPEC}/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    "documentation": (
        f"{_SPEC}/facets/1-1-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet"
    ),
    "sourceCodeLocation": (
        f"{_SPEC}/facets/1-1-0/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet"
    ),
    "sql": f"{_SPEC}/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet",
}
"""The schema URL of the event and of each facet headwater builds (the shapes below)."""


@dataclass(frozen=True)
class Datasets:
    """The inputs and outputs of an event, as (namespace, name) pairs, in order."""

    inputs: tuple[tuple[str, str], ...] = ()
    outputs: tuple[tuple[str, str], ...] = ()


def dag_run_event(
    event_type: str,
    *,
    namespace: str,
    dag: DAG,
    run: DagRun,
    now: datetime,
    error: str | None = None,
) -> Event:
    """The event of a DAG run: ``START``, ``COMPLETE``, ``FAIL`` or ``ABORT``."""
    return _event(
        event_type,
        now,
        run_id=dag_run_id(namespace, run),
        run_facets=_run_facets(run, error),
        job={"namespace": namespace, "name": dag.dag_id, "facets": _job_facets(dag, "DAG")},
    )


def task_attempt_event(
    event_type: str,
    *,
    namespace: str,
    dag: DAG,
    run: DagRun,
    task_id: str,
    map_index: int,
    try_number: int,
    now: datetime,
    datasets: Datasets = Datasets(),
    error: str | None = None,
    sql: tuple[str, str] | None = None,
) -> EncodedEvent:
    """The event of one task attempt, with its parent (the DAG run) and its datasets;
    ``sql``: the (query, dialect) of a SQL task, its job's ``sql`` facet.

    Built as JSON text at once, where the task runs: the parts that every attempt of a run
    (its nominal time and parent facets) or of a DAG (its job facets) shares are encoded
    once per process and joined with the few values of the attempt (a third of the CPU that
    building the object and serializing it in the sending thread took)."""
    run_facets = _run_part(namespace, dag, run)
    if error is not None:
        run_facets += ',"errorMessage":' + _dumps(_error_facet(error))
    if sql is None:
        job_facets = _job_facets_json(dag.description, _fileloc(dag), "TASK")
    else:
        facets = _job_facets(dag, "TASK")
        facets["sql"] = _facet("sql", query=sql[0], dialect=sql[1])
        job_facets = _dumps(facets)
    attempt_id = task_attempt_uuid(
        namespace, run.dag_id, run.run_id, task_id, map_index, try_number, run.logical_date
    )
    job_name = json.dumps(f"{dag.dag_id}.{task_id}")
    return EncodedEvent(
        f'{{"eventType":{json.dumps(event_type)},"eventTime":"{now.isoformat()}",'
        f'"producer":{_producer_json()},"schemaURL":"{SCHEMA_URLS["event"]}",'
        f'"run":{{"runId":"{attempt_id}","facets":{{{run_facets}}}}},'
        f'"job":{{"namespace":{json.dumps(namespace)},"name":{job_name},'
        f'"facets":{job_facets}}},'
        f'"inputs":{_datasets_json(datasets.inputs)},"outputs":{_datasets_json(datasets.outputs)}}}'
    )


class EncodedEvent:
    """An event already serialized (its JSON ``text``): what the ``http`` transport sends as
    is; other transports get it back as a JSON object (:meth:`as_dict`)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def as_dict(self) -> Event:
        parsed: Event = json.loads(self.text)
        return parsed

    def __repr__(self) -> str:
        return f"EncodedEvent({self.text[:80]!r}...)"


_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
"""Compact JSON, with one encoder (``json.dumps`` with arguments builds one per call)."""

_RUN_PARTS: dict[tuple[str, ...], str] = {}
_RUN_PARTS_MAX = 256


def _run_part(namespace: str, dag: DAG, run: DagRun) -> str:
    """The nominal-time and parent facets of a task event of ``run``, as JSON members
    (encoded once per run, found again by the run's names and dates as text)."""
    start, end = run.data_interval_start.isoformat(), run.data_interval_end.isoformat()
    key = (namespace, dag.dag_id, run.dag_id, run.run_id, run.logical_date.isoformat(), start, end)
    found = _RUN_PARTS.get(key)
    if found is not None:
        return found
    parent_id = dag_run_id(namespace, run)
    parent_job = {"namespace": namespace, "name": dag.dag_id}
    facets = _run_facets(run, None)
    facets["parent"] = _facet(
        "parent",
        run={"runId": parent_id},
        job=parent_job,
        root={"run": {"runId": parent_id}, "job": parent_job},
    )
    part = _dumps(facets)[1:-1]
    if len(_RUN_PARTS) >= _RUN_PARTS_MAX:
        _RUN_PARTS.clear()
    _RUN_PARTS[key] = part
    return part


@functools.lru_cache(maxsize=256)
def _job_facets_json(description: str | None, fileloc: str | None, kind: str) -> str:
    """The job facets of a DAG's task events, encoded once per DAG."""
    return _dumps(_facets_of_job(description, fileloc, kind))


@functools.cache
def _producer_json() -> str:
    return _dumps(producer())


def _datasets_json(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return "[]"
    return _dumps([{"namespace": ns, "name": name} for ns, name in pairs])


def dag_run_id(namespace: str, run: DagRun) -> str:
    return dag_run_uuid(namespace, run.dag_id, run.run_id, run.logical_date)


def _event(
    event_type: str,
    now: datetime,
    *,
    run_id: str,
    run_facets: dict[str, Any],
    job: dict[str, Any],
) -> Event:
    return {
        "eventType": event_type,
        "eventTime": now.isoformat(),
        "producer": producer(),
        "schemaURL": SCHEMA_URLS["event"],
        "run": {"runId": run_id, "facets": run_facets},
        "job": job,
        "inputs": [],
        "outputs": [],
    }


def _facet(name: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": producer(), "_schemaURL": SCHEMA_URLS[name], **fields}


def _run_facets(run: DagRun, error: str | None) -> dict[str, Any]:
    facets = {
        "nominalTime": _facet(
            "nominalTime",
            nominalStartTime=run.data_interval_start.isoformat(),
            nominalEndTime=run.data_interval_end.isoformat(),
        )
    }
    if error is not None:
        facets["errorMessage"] = _error_facet(error)
    return facets


def _error_facet(error: str) -> dict[str, Any]:
    return _facet("errorMessage", message=error[:MAX_ERROR_CHARS], programmingLanguage="python")


def _job_facets(dag: DAG, job_type: str) -> dict[str, Any]:
    return _facets_of_job(dag.description, _fileloc(dag), job_type)


def _fileloc(dag: DAG) -> str | None:
    return getattr(dag, "fileloc", None) or None


def _facets_of_job(description: str | None, fileloc: str | None, job_type: str) -> dict[str, Any]:
    facets = {
        "jobType": _facet(
            "jobType", processingType="BATCH", integration=INTEGRATION, jobType=job_type
        )
    }
    if description:
        facets["documentation"] = _facet("documentation", description=description)
    if fileloc:
        facets["sourceCodeLocation"] = _facet(
            "sourceCodeLocation", type="file", url=f"file://{fileloc}", path=fileloc
        )
    return facets
