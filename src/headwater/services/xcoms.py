"""What a task left behind, as people may see it: its XCom values and the rendered template
fields of an attempt (``headwater tasks xcom``, ``headwater tasks rendered``).

Shown redacted, stored as they are: a downstream task needs the real value. This process
does not know the secrets a worker registered while the task ran, so before redacting it
registers the secrets the metadata database holds (:func:`mask_stored_secrets`): values of
variables named like secrets, connection passwords and the secret-looking keys of their
``extra``. A value under a sensitive key (``{"api_token": ...}``) is hidden whatever it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.services._schema import Page, Schema

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext


class XComOut(Schema):
    """One XCom value of a task instance, redacted."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    key: str
    value: Any


class RenderedFieldsOut(Schema):
    """The rendered template fields of one attempt, redacted."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    rendered_fields: dict[str, Any]


def mask_stored_secrets(ctx: ServiceContext) -> None:
    """Register, in this process, every secret the metadata database holds: the values of
    variables whose key looks secret, connection passwords, secret-looking ``extra``
    values. Bounded by what is stored (and by ``headwater.masking.MAX_SECRETS``)."""
    from headwater.masking import is_sensitive_name, mask_secret

    for variable in ctx.store.list_variables():
        if is_sensitive_name(variable.key):
            mask_secret(variable.value)
    for connection in ctx.store.list_connections():
        if connection.password:
            mask_secret(connection.password)
        if connection.extra:
            mask_secret(connection.extra, name="extra")


def get_xcom(
    ctx: ServiceContext,
    dag_id: str,
    run_id: str,
    task_id: str,
    *,
    key: str = "return_value",
    map_index: int = -1,
) -> XComOut:
    """The value ``task_id`` pushed under ``key``, redacted; not found names the run, the
    task instance or the key."""
    from headwater.engine.records import TaskInstanceKey
    from headwater.masking import redact
    from headwater.operations import require_run
    from headwater.operations.logs import instance_of_run
    from headwater.services.errors import NotFoundError
    from headwater.shown_text import quoted
    from headwater.xcom_serializers import load_serializer

    require_run(ctx.store, dag_id, run_id)
    ti = instance_of_run(ctx.store, dag_id, run_id, task_id, map_index)
    text = ctx.store.get_xcom(TaskInstanceKey(dag_id, run_id, task_id, map_index), key)
    if text is None:
        raise NotFoundError(
            f"task instance {ti.key.label} of run {quoted(run_id)} has no XCom {quoted(key)}"
        )
    value = load_serializer(ctx.settings.xcom.serializer).loads(text)
    mask_stored_secrets(ctx)
    return XComOut(
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=map_index,
        key=key,
        value=redact(value, key),
    )


def get_rendered_fields(
    ctx: ServiceContext,
    dag_id: str,
    run_id: str,
    task_id: str,
    *,
    map_index: int = -1,
    try_number: int | None = None,
) -> RenderedFieldsOut:
    """The rendered template fields of one attempt (the latest by default), redacted
    again here (they were when the attempt stored them; this also hides the stored
    secrets the worker had not read)."""
    from headwater.masking import redact
    from headwater.operations import require_run
    from headwater.operations.logs import instance_of_run
    from headwater.services.errors import NoAttemptYetError, NotFoundError
    from headwater.shown_text import quoted

    require_run(ctx.store, dag_id, run_id)
    ti = instance_of_run(ctx.store, dag_id, run_id, task_id, map_index)
    attempts = [
        a for a in ctx.store.get_attempts(dag_id, run_id, task_id) if a.map_index == map_index
    ]
    if not attempts:
        raise NoAttemptYetError(f"task instance {ti.key.label} of run {quoted(run_id)} has not run")
    chosen = max(attempts, key=lambda a: a.try_number)
    if try_number is not None:
        found = [a for a in attempts if a.try_number == try_number]
        if not found:
            tries = ", ".join(
                str(a.try_number) for a in sorted(attempts, key=lambda a: a.try_number)
            )
            raise NotFoundError(
                f"task instance {ti.key.label} of run {quoted(run_id)} has no try "
                f"{try_number}; its tries: {tries}"
            )
        chosen = found[0]
    mask_stored_secrets(ctx)
    return RenderedFieldsOut(
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=map_index,
        try_number=chosen.try_number,
        rendered_fields=redact(dict(chosen.rendered_fields)),
    )


def list_xcoms(
    ctx: ServiceContext,
    dag_id: str,
    run_id: str,
    task_id: str,
    *,
    map_index: int = -1,
    limit: int = 100,
    offset: int = 0,
) -> Page[XComOut]:
    """Every XCom of one task instance, by key, redacted; not found names the run, the
    task or the map indexes it has."""
    from headwater.engine.records import TaskInstanceKey
    from headwater.masking import redact
    from headwater.operations import require_run
    from headwater.operations.logs import instance_of_run
    from headwater.xcom_serializers import load_serializer

    require_run(ctx.store, dag_id, run_id)
    instance_of_run(ctx.store, dag_id, run_id, task_id, map_index)
    stored = ctx.store.get_xcoms(TaskInstanceKey(dag_id, run_id, task_id, map_index))
    serializer = load_serializer(ctx.settings.xcom.serializer)
    mask_stored_secrets(ctx)
    keys = list(stored)
    return Page[XComOut](
        items=[
            XComOut(
                dag_id=dag_id,
                run_id=run_id,
                task_id=task_id,
                map_index=map_index,
                key=key,
                value=redact(serializer.loads(stored[key]), key),
            )
            for key in keys[offset : offset + limit]
        ],
        total=len(keys),
        limit=limit,
        offset=offset,
    )
