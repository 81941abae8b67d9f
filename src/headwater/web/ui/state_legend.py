"""The legend of task-instance states that the grid, the graph and the assets graph show:
each state's colour (the shell's ``.state-<name>`` classes in ``app.css``) with its name,
and a sentence saying what it means (the swatch's title). Templates read it as
``state_legend`` (a global of the Jinja environment, see ``templating.py``)."""

from __future__ import annotations

STATE_LEGEND: tuple[tuple[str, str], ...] = (
    ("none", "not scheduled yet: its upstream tasks have not finished"),
    ("scheduled", "ready to run: waiting for a worker"),
    ("queued", "sent to a worker, not started yet"),
    ("running", "running now"),
    ("deferred", "waiting for a trigger in the triggerer: holds no worker or pool slot"),
    ("up_for_reschedule", "a sensor waiting for its next poke: holds no worker or pool slot"),
    ("up_for_retry", "failed; will be tried again after its retry delay"),
    ("success", "finished successfully"),
    ("failed", "failed, with no retry left"),
    ("upstream_failed", "not run: an upstream task failed"),
    ("skipped", "not run: skipped by a branch, a short circuit or its trigger rule"),
    ("removed", "no longer in the DAG"),
)
"""Every task-instance state, in the order work goes through them, with its meaning."""
