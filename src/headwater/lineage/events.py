"""Building OpenLineage run events (the ``openlineage-python`` client's classes).

A DAG run is the job ``<dag_id>``, a task attempt the job ``<dag_id>.<task_id>`` (both in
the ``[lineage] namespace``). Facets, as Airflow's provider sends them:

* run: ``nominalTime`` (the data interval), ``parent`` (on task events: the DAG run, which is
  also the root), ``errorMessage`` (on FAIL);
* job: ``jobType`` (processingType ``BATCH``, integration ``HEADWATER``, jobType ``DAG`` or
  ``TASK``), ``documentation`` (the DAG's description), ``sourceCodeLocation`` (the DAG
  file), ``sql`` (a SQL task's statements, secrets masked).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from headwater.lineage.run_ids import dag_run_uuid, task_attempt_uuid

if TYPE_CHECKING:
    from openlineage.client.event_v2 import RunEvent

    from headwater.authoring.dag import DAG
    from headwater.engine.records import DagRun

INTEGRATION = "HEADWATER"
MAX_ERROR_CHARS = 4000
"""An error message stops here: the whole traceback is in the attempt's log."""


@functools.cache
def producer() -> str:
    """The URI naming what produced the events: this version of headwater."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        current = version("headwater")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        current = "unknown"
    return f"https://pypi.org/project/headwater/{current}/"


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
) -> RunEvent:
    """The event of a DAG run: ``START``, ``COMPLETE``, ``FAIL`` or ``ABORT``."""
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

    made_by = producer()
    run_facets = _run_facets(run, error, made_by)
    return RunEvent(
        eventType=RunState(event_type),
        eventTime=now.isoformat(),
        run=Run(runId=dag_run_id(namespace, run), facets=run_facets),
        job=Job(namespace=namespace, name=dag.dag_id, facets=_job_facets(dag, "DAG", made_by)),
        producer=made_by,
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
) -> RunEvent:
    """The event of one task attempt, with its parent (the DAG run) and its datasets;
    ``sql``: the (query, dialect) of a SQL task, its job's ``sql`` facet."""
    from openlineage.client.event_v2 import (
        InputDataset,
        Job,
        OutputDataset,
        Run,
        RunEvent,
        RunState,
    )
    from openlineage.client.facet_v2 import parent_run

    made_by = producer()
    parent_id = dag_run_id(namespace, run)
    run_facets = _run_facets(run, error, made_by)
    run_facets["parent"] = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=parent_id),
        job=parent_run.Job(namespace=namespace, name=dag.dag_id),
        root=parent_run.Root(
            run=parent_run.RootRun(runId=parent_id),
            job=parent_run.RootJob(namespace=namespace, name=dag.dag_id),
        ),
        producer=made_by,
    )
    attempt_id = task_attempt_uuid(
        namespace, run.dag_id, run.run_id, task_id, map_index, try_number, run.logical_date
    )
    job_facets = _job_facets(dag, "TASK", made_by)
    if sql is not None:
        from openlineage.client.facet_v2 import sql_job

        job_facets["sql"] = sql_job.SQLJobFacet(query=sql[0], dialect=sql[1], producer=made_by)
    return RunEvent(
        eventType=RunState(event_type),
        eventTime=now.isoformat(),
        run=Run(runId=attempt_id, facets=run_facets),
        job=Job(namespace=namespace, name=f"{dag.dag_id}.{task_id}", facets=job_facets),
        inputs=[InputDataset(namespace=ns, name=name) for ns, name in datasets.inputs],
        outputs=[OutputDataset(namespace=ns, name=name) for ns, name in datasets.outputs],
        producer=made_by,
    )


def dag_run_id(namespace: str, run: DagRun) -> str:
    return dag_run_uuid(namespace, run.dag_id, run.run_id, run.logical_date)


def _run_facets(run: DagRun, error: str | None, made_by: str) -> dict[str, Any]:
    from openlineage.client.facet_v2 import error_message_run, nominal_time_run

    facets: dict[str, Any] = {
        "nominalTime": nominal_time_run.NominalTimeRunFacet(
            nominalStartTime=run.data_interval_start.isoformat(),
            nominalEndTime=run.data_interval_end.isoformat(),
            producer=made_by,
        )
    }
    if error is not None:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error[:MAX_ERROR_CHARS], programmingLanguage="python", producer=made_by
        )
    return facets


def _job_facets(dag: DAG, job_type: str, made_by: str) -> dict[str, Any]:
    from openlineage.client.facet_v2 import (
        documentation_job,
        job_type_job,
        source_code_location_job,
    )

    facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration=INTEGRATION, jobType=job_type, producer=made_by
        )
    }
    if dag.description:
        facets["documentation"] = documentation_job.DocumentationJobFacet(
            description=dag.description, producer=made_by
        )
    fileloc = getattr(dag, "fileloc", None)
    if fileloc:
        facets["sourceCodeLocation"] = source_code_location_job.SourceCodeLocationJobFacet(
            type="file", url=f"file://{fileloc}", path=fileloc, producer=made_by
        )
    return facets
