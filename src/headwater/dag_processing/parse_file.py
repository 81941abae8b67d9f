"""The child process that imports one DAG file: ``python -m headwater.dag_processing.parse_file
PATH`` prints ``{"dags": [serialized DAG, ...], "errors": [{"line", "message"}, ...]}``.

Run in its own process so that a file that hangs, crashes the interpreter or leaks cannot
harm the processor; the processor kills it after the parse timeout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


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
    result = parse(Path(sys.argv[1]))
    # Task code may print at import time: the result is the last line of stdout.
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
