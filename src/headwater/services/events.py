"""The event log: what people did (trigger, clear, mark, pause, delete, backfill), newest
first, for the API's ``/events`` and the UI's event-log page.

A role limited to DAG tags sees only the events of the DAGs it sees (and none that belong
to no DAG). Each event's ``detail`` passes through the secrets masker before it is shown.
Who did it (``actor``: a user's name, ``cli:<OS user>`` for the CLI, None for the scheduler)
is shown and filtered on.

Example::

    page = list_events(ctx, kind="clear", limit=20)
    [(e.at, e.dag_id, e.detail) for e in page.items]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.services._schema import IsoDatetime, Page, Schema

if TYPE_CHECKING:
    from headwater.auth.principals import Principal
    from headwater.db.rows import EventRow
    from headwater.services.context import ServiceContext


class EventOut(Schema):
    """One entry of the event log."""

    id: int
    at: IsoDatetime
    kind: str
    """What was done: ``trigger``, ``clear``, ``mark``, ``pause``, ``delete_dag``, ..."""
    dag_id: str | None
    run_id: str | None
    task_id: str | None
    map_index: int | None
    try_number: int | None
    state: str | None
    detail: str | None
    actor: str | None
    """Who did it: a user's name, ``cli:<OS user>``, or None (the scheduler)."""

    @classmethod
    def of(cls, row: EventRow) -> EventOut:
        from headwater.masking import redact_text

        return cls(
            id=row.id,
            at=row.at,
            kind=row.kind,
            dag_id=row.dag_id,
            run_id=row.run_id,
            task_id=row.task_id,
            map_index=row.map_index,
            try_number=row.try_number,
            state=row.state,
            detail=None if row.detail is None else redact_text(row.detail),
            actor=row.actor,
        )


def list_events(
    ctx: ServiceContext,
    *,
    principal: Principal | None = None,
    dag_id: str | None = None,
    kind: str | None = None,
    actor: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[EventOut]:
    """One page of the events matching the filters, newest first, as ``principal`` may see
    them (None: everything)."""
    dag_ids: set[str] | None = None
    if principal is not None and principal.dag_tags is not None:
        dag_ids = {
            row.dag_id
            for row in ctx.store.list_dags(include_inactive=True)
            if principal.can_read_dag(row.tags or ())
        }
    if dag_id is not None:
        dag_ids = {dag_id} if dag_ids is None else dag_ids & {dag_id}
    rows, total = ctx.store.page_events(
        dag_ids=dag_ids, kind=kind, actor=actor, limit=limit, offset=offset
    )
    return Page[EventOut](
        items=[EventOut.of(row) for row in rows], total=total, limit=limit, offset=offset
    )


EVENT_KINDS = (
    "trigger",
    "clear",
    "mark",
    "pause",
    "delete_run",
    "delete_dag",
    "backfill",
    "set_pool",
    "delete_pool",
    "set_variable",
    "delete_variable",
    "add_connection",
    "update_connection",
    "delete_connection",
    "create_user",
    "update_user",
    "reset_password",
    "delete_user",
    "create_role",
    "delete_role",
    "create_token",
)
"""The kinds of event the operations record, for a filter's suggestions (the filter takes
any kind: other parts of headwater may record more)."""
