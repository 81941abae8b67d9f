"""OpenLineage events of DAG runs and task attempts (``[lineage]`` settings, off by default).

Each DAG run emits START when it starts running and COMPLETE or FAIL when it ends (from the
scheduler, or from ``dags test``); each task attempt emits START and COMPLETE or FAIL (from
the process that runs it). Events carry the job and run facets Airflow's OpenLineage provider
sends (parent run, nominal time = data interval, error message, job type) and the datasets
of the task's ``inlets``/``outlets`` and of the tables its SQL reads and writes.

The parts, from the bottom up:

* :mod:`~headwater.lineage.naming`: asset URIs and SQL connections as OpenLineage dataset
  namespaces and names; :mod:`~headwater.lineage.run_ids`: the runs' stable UUIDs.
* :mod:`~headwater.lineage.events`: building the events (JSON objects, with the schema URLs
  of the ``openlineage-python`` client); :mod:`~headwater.lineage.sql_tables`: a SQL task's
  tables, parsed with ``openlineage-sql``.
* :mod:`~headwater.lineage.transports`: the client's transport the settings name.
* :mod:`~headwater.lineage.emitter`: sending in the background (a bounded queue and one
  thread per process): emitting never slows or fails a task.
* :mod:`~headwater.lineage.attempts` (task attempts, for the runtime) and
  :mod:`~headwater.lineage.dag_runs` (DAG runs, for the scheduler and ``dags test``).

See ``docs/lineage.md``.
"""

from __future__ import annotations

from headwater.lineage.attempts import AttemptLineage, start_attempt_lineage
from headwater.lineage.dag_runs import DagRunLineage, dag_run_lineage_in_process
from headwater.lineage.process_settings import use_lineage_settings
from headwater.lineage.transports import LineageUnavailableError

__all__ = [
    "AttemptLineage",
    "DagRunLineage",
    "LineageUnavailableError",
    "dag_run_lineage_in_process",
    "start_attempt_lineage",
    "use_lineage_settings",
]
