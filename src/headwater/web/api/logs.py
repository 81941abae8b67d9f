"""Task logs by try, read from a byte offset so a client can follow a running attempt.

A client reads from ``offset=0``, shows ``content``, and while ``complete`` is false asks
again from ``next_offset`` (every second or two): the answer holds what was written since.
Chunks end after whole lines (a secret is never split where the masker cannot see it) and
never inside a UTF-8 character; every secret the masker knows is shown as ``***``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from headwater.services.logs import MAX_LOG_CHUNK, MIN_LOG_CHUNK, LogChunkOut, read_log
from headwater.services.task_changes import MAX_MAP_INDEX
from headwater.web.context import Ctx
from headwater.web.security import CurrentPrincipal, require_dag_read

router = APIRouter(tags=["logs"])


@router.get(
    "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/logs/{try_number}",
    summary="Read the log of one try from an offset",
)
def task_log(
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: Annotated[
        int, Path(ge=1, le=MAX_MAP_INDEX, description="Which try (1 is the first).")
    ],
    ctx: Ctx,
    principal: CurrentPrincipal,
    map_index: Annotated[
        int, Query(ge=-1, le=MAX_MAP_INDEX, description="Map index; -1: not mapped.")
    ] = -1,
    offset: Annotated[int, Query(ge=0, description="Byte offset to read from.")] = 0,
    max_bytes: Annotated[
        int,
        Query(ge=MIN_LOG_CHUNK, le=MAX_LOG_CHUNK, description="The most bytes to answer."),
    ] = 256 * 1024,
) -> LogChunkOut:
    require_dag_read(ctx, principal, dag_id)
    return read_log(ctx, dag_id, run_id, task_id, map_index, try_number, offset, max_bytes)
