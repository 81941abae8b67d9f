"""The child process that runs one DAG for ``headwater airflow check --run``:
``python -m headwater.services.airflow_check_child FILE DAG_ID [PARENT_PID]`` prints
``{"state", "failed_task", "error"}`` as the last line of its stdout.

It does what ``headwater dags test DAG_ID --folder FILE`` does (the file loaded as the
command loads it, the logs folder checked, :func:`~headwater.dag_test.run_dag_in_process`)
without the terminal progress, so the check reports the same outcome as the command. It runs
in a process of its own so that a DAG that hangs or crashes the interpreter harms only its
own row; the check kills its process group after the time limit, and the group ends itself
when the check dies.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from headwater.executors.process_tree import end_group_with_parent


def run(path: Path, dag_id: str) -> dict[str, Any]:
    """Run ``dag_id`` of ``path`` once; its state, the first failed task and its error."""
    from headwater.dag_test import run_dag_in_process
    from headwater.engine.states import TaskInstanceState
    from headwater.loading.dagbag import DagBag
    from headwater.runtime.logs import require_logs_folder
    from headwater.settings import load_settings

    settings = load_settings()
    bag = DagBag(
        path,
        import_timeout_s=settings.scheduler.file_parse_timeout_s,
        airflow_compat=settings.core.airflow_compat,
    )
    dag = bag.get_dag(dag_id)
    require_logs_folder(settings.logs_folder)
    result = run_dag_in_process(dag, settings=settings)
    failed = [ti for ti in result.task_instances if ti.state is TaskInstanceState.FAILED]
    first = failed[0] if failed else None
    error = _first_line(first.error) if first is not None else None
    if first is None and not result.succeeded:
        error = f"the run ended {result.state.value} with no failed task"
    return {
        "state": result.state.value,
        "failed_task": first.key.label if first is not None else None,
        "error": error,
    }


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else None


def main() -> None:
    if len(sys.argv) > 3:
        end_group_with_parent(int(sys.argv[3]))
    try:
        result = run(Path(sys.argv[1]), sys.argv[2])
    except Exception as exc:  # the DAG could not be loaded or run: say why, as a result
        result = {"state": "error", "failed_task": None, "error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
