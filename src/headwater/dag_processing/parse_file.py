"""The child process that imports one DAG file: ``python -m headwater.dag_processing.parse_file
PATH PARENT_PID`` prints ``{"dags": [serialized DAG, ...], "errors": [{"line", "message"}, ...]}``.

Run in its own process so that a file that hangs, crashes the interpreter or leaks cannot
harm the processor; the processor kills it after the parse timeout. It runs in a session (so a
process group) of its own, which holds the processes the file starts too: the processor kills
that group on a timeout or a stop, and this process kills it when the processor dies.
"""

from __future__ import annotations

import json
import os
import signal
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


def _die_with_parent(parent_pid: int) -> None:
    """End this process group (this process and whatever the file started) when the
    processor dies, even of SIGKILL, instead of importing forever, orphaned.

    The parent-death signal is SIGTERM, not SIGKILL as for workers: SIGKILL would end this
    process but leave the file's own children running. Its handler kills the whole group.
    (A file stuck in C code that never returns to Python would outlive the processor.)
    """
    from headwater.executors.process_tree import set_parent_death_signal

    signal.signal(signal.SIGTERM, _kill_own_group)
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent_pid:  # the processor died before the signal was armed
        _kill_own_group(signal.SIGTERM, None)


def _kill_own_group(signum: int, frame: object) -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)


def main() -> None:
    if len(sys.argv) > 2:
        _die_with_parent(int(sys.argv[2]))
    result = parse(Path(sys.argv[1]))
    # Task code may print at import time: the result is the last line of stdout.
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
