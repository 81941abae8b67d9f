"""The deadlines and SLAs of a serialized DAG (part of :mod:`serialized_dag`).

What the scheduler needs to check them without the DAG file::

    "deadlines": [{"name": "data_interval_end+120m", "reference": "data_interval_end",
                   "interval": 7200.0, "callback": true}, ...],
    "sla_miss_callback": true,
    "task_slas": {"load": {"after_start": 1800.0}, "report": {"time_of_day": "06:00:00"}},

A callback that is set becomes a stand-in that raises when called (as the DAG's other
callbacks do): the scheduler only needs to know that one exists; the callback process
imports the DAG file to call the real one. Keys without a value are left out, so a DAG
without deadlines (and one stored before they existed) reads as having none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time, timedelta
from typing import Any

from headwater.authoring.dag import DAG
from headwater.authoring.deadlines import Deadline, DeadlineReference


def _unavailable_callback(context: dict[str, Any]) -> None:
    """Stands in for a deadline callback of a rebuilt DAG (``callback is not None`` holds)."""
    raise RuntimeError(
        "a deadline callback of a DAG rebuilt from its serialized form cannot run; "
        "the deadline callback process imports the DAG file"
    )


def dump_deadlines(dag: DAG) -> dict[str, Any]:
    """The keys :func:`serialize_dag` adds for deadlines and SLAs."""
    slas: dict[str, dict[str, Any]] = {}
    for task_id, task in dag.task_dict.items():
        sla = getattr(task, "sla", None)
        if isinstance(sla, timedelta):
            slas[task_id] = {"after_start": sla.total_seconds()}
        elif isinstance(sla, time):
            slas[task_id] = {"time_of_day": sla.isoformat()}
    data: dict[str, Any] = {
        "deadlines": [
            {
                "name": d.name,
                "reference": d.reference.value,
                "interval": d.interval.total_seconds(),
                "callback": bool(d.callback),
            }
            for d in dag.deadlines
        ],
        "sla_miss_callback": dag.sla_miss_callback is not None,
        "task_slas": slas,
    }
    # A DAG without any keeps the form (and the hash) it had before deadlines existed.
    return {key: value for key, value in data.items() if value}


def load_deadlines(dag: DAG, spec: Mapping[str, Any]) -> None:
    """Put back the deadlines, ``sla_miss_callback`` and task SLAs of ``spec`` on ``dag``
    (after its tasks are built)."""
    dag.deadlines = [
        Deadline(
            reference=DeadlineReference(d["reference"]),
            interval=timedelta(seconds=d["interval"]),
            callback=_unavailable_callback if d["callback"] else None,
            name=d["name"],
        )
        for d in spec.get("deadlines", [])
    ]
    if spec.get("sla_miss_callback"):
        dag.sla_miss_callback = _unavailable_callback
    for task_id, sla in spec.get("task_slas", {}).items():
        task = dag.task_dict[task_id]
        if "after_start" in sla:
            task.sla = timedelta(seconds=sla["after_start"])
        else:
            task.sla = time.fromisoformat(sla["time_of_day"])
