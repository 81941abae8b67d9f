"""Everything the UI's attempt page shows, read in one call: the task instance with its
tries, the chosen try, its rendered fields, the instance's XComs, the start of the try's
log and the DAG's header (tags, paused, description). All of it masked.

The page then follows the log through the API from ``log.next_offset``
(:func:`headwater.services.logs.read_log`); this first chunk makes the log readable
without scripts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.services._schema import Schema
from headwater.services.logs import MAX_LOG_CHUNK, LogChunkOut
from headwater.services.task_instance_views import AttemptOut, TaskInstanceDetailOut
from headwater.services.xcoms import RenderedFieldsOut, XComOut

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext


class DagHeaderOut(Schema):
    """What the header of every DAG page shows."""

    dag_id: str
    display_name: str
    """How pages name the DAG: its ``dag_display_name``, else its id."""
    paused: bool
    tags: list[str]
    description: str | None


class AttemptPageOut(Schema):
    """The attempt page's data: ``attempt`` is None (and so are ``rendered`` and ``log``)
    for an instance that has not run yet."""

    dag: DagHeaderOut
    instance: TaskInstanceDetailOut
    attempt: AttemptOut | None
    rendered: RenderedFieldsOut | None
    xcoms: list[XComOut]
    log: LogChunkOut | None


XCOMS_SHOWN = 100
"""The most XComs the page lists (the API pages through more)."""


def attempt_page(
    ctx: ServiceContext,
    dag_id: str,
    run_id: str,
    task_id: str,
    *,
    map_index: int = -1,
    try_number: int | None = None,
) -> AttemptPageOut:
    """The page of try ``try_number`` (default: the latest) of one task instance; not found
    names the DAG, run, task, map index or try (listing the tries there are)."""
    from headwater.operations import dag_row
    from headwater.services.errors import NotFoundError
    from headwater.services.logs import read_log
    from headwater.services.task_instance_views import get_task_instance_detail
    from headwater.services.xcoms import get_rendered_fields, list_xcoms
    from headwater.shown_text import quoted

    row = dag_row(ctx.store, dag_id)
    instance = get_task_instance_detail(ctx, dag_id, run_id, task_id, map_index)
    tries = {a.try_number: a for a in instance.tries}
    attempt = None
    if try_number is not None:
        attempt = tries.get(try_number)
        if attempt is None:
            listed = ", ".join(map(str, tries)) or "none yet"
            raise NotFoundError(
                f"try_number: task instance {quoted(instance.label)} of run {quoted(run_id)} "
                f"has no try {try_number}; its tries: {listed}"
            )
    elif tries:
        attempt = tries[max(tries)]
    rendered = log = None
    if attempt is not None:
        number = attempt.try_number
        rendered = get_rendered_fields(
            ctx, dag_id, run_id, task_id, map_index=map_index, try_number=number
        )
        log = read_log(ctx, dag_id, run_id, task_id, map_index, number, 0, MAX_LOG_CHUNK)
    xcoms = list_xcoms(ctx, dag_id, run_id, task_id, map_index=map_index, limit=XCOMS_SHOWN)
    return AttemptPageOut(
        dag=DagHeaderOut(
            dag_id=dag_id,
            display_name=row.shown_name,
            paused=row.is_paused,
            tags=list(row.tags or ()),
            description=row.description,
        ),
        instance=instance,
        attempt=attempt,
        rendered=rendered,
        xcoms=xcoms.items,
        log=log,
    )
