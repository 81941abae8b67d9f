"""The child process that imports one DAG file: ``python -m headwater.dag_processing.parse_file
PATH PARENT_PID`` prints ``{"dags": [serialized DAG, ...], "errors": [{"line", "message"}, ...]}``.

Run in its own process so that a file that hangs, crashes the interpreter or leaks cannot
harm the processor; the processor kills it after the parse timeout. It runs in a session (so a
process group) of its own, which holds the processes the file starts too: the processor kills
that group on a timeout or a stop, and this process kills it when the processor dies.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from headwater.executors.process_tree import end_group_with_parent


def parse(path: Path) -> dict[str, Any]:
    from headwater.dag_processing.serialized_dag import serialize_dag
    from headwater.loading.dagbag import DagBag

    bag = DagBag(path)
    dags: list[dict[str, Any]] = []
    errors = [{"line": e.line, "message": e.message} for e in bag.import_errors]
    for dag_id, dag in sorted(bag.dags.items()):
        try:
            dags.append(serialize_dag(dag))
        except Exception as exc:  # a value the serializer cannot store: report, go on
            errors.append({"line": None, "message": f"DAG {dag_id!r} cannot be stored: {exc}"})
    return {"dags": dags, "errors": errors}


def main() -> None:
    if len(sys.argv) > 2:
        end_group_with_parent(int(sys.argv[2]))
    result = parse(Path(sys.argv[1]))
    # Task code may print at import time: the result is the last line of stdout.
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
