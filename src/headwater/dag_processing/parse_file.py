"""The child process that imports one DAG file: ``python -m headwater.dag_processing.parse_file
PATH PARENT_PID`` prints ``{"dags": [serialized DAG, ...], "errors": [{"line", "message"}, ...],
"notes": [{"line", "message"}, ...]}``: the notes are the Airflow names the file uses that
Airflow itself deprecated (``schedule_interval=``, ``DummyOperator``...), each at the file's
line, which ``headwater airflow check`` lists (the DAG processor does not store them).

Run in its own process so that a file that hangs, crashes the interpreter or leaks cannot
harm the processor; the processor kills it after the parse timeout. It runs in a session (so a
process group) of its own, which holds the processes the file starts too: the processor kills
that group on a timeout or a stop, and this process kills it when the processor dies.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

from headwater.executors.process_tree import end_group_with_parent


def parse(path: Path) -> dict[str, Any]:
    from headwater.dag_processing.serialized_dag import serialize_dag
    from headwater.loading.dagbag import DagBag

    with warnings.catch_warnings(record=True) as caught:
        bag = DagBag(path)
    notes = _airflow_deprecations(caught, path)
    dags: list[dict[str, Any]] = []
    errors = [{"line": e.line, "message": e.message} for e in bag.import_errors]
    for dag_id, dag in sorted(bag.dags.items()):
        try:
            dags.append(serialize_dag(dag))
        except Exception as exc:  # a value the serializer cannot store: report, go on
            errors.append({"line": None, "message": f"DAG {dag_id!r} cannot be stored: {exc}"})
    return {"dags": dags, "errors": errors, "notes": notes}


def _airflow_deprecations(
    caught: list[warnings.WarningMessage], path: Path
) -> list[dict[str, Any]]:
    """The Airflow deprecation warnings among ``caught`` as notes (line, message), each
    once; every other warning is shown as it would have been."""
    helpers = sys.modules.get("headwater.airflow_compat.helpers")  # loaded by airflow names
    category = getattr(helpers, "AirflowDeprecationWarning", None)
    notes: list[dict[str, Any]] = []
    file = path.resolve()
    for warning in caught:
        if category is not None and issubclass(warning.category, category):
            here = Path(warning.filename).resolve() == file
            note = {"line": warning.lineno if here else None, "message": str(warning.message)}
            if note not in notes:
                notes.append(note)
            continue
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    return notes


def main() -> None:
    if len(sys.argv) > 2:
        end_group_with_parent(int(sys.argv[2]))
    result = parse(Path(sys.argv[1]))
    # Task code may print at import time: the result is the last line of stdout.
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
