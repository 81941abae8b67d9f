"""What a DAG file says of itself: its source (read from the file, with a size cap) and
its docs (``doc_md`` of the DAG and its tasks, from the stored structure). Both pass through
the secrets masker; rendering the Markdown is the UI's job.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from headwater.masking import redact_text
from headwater.services._schema import Schema
from headwater.services.dag_structure import load_structure
from headwater.shown_text import quoted

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext

MAX_SOURCE_BYTES = 1_000_000
"""The most of a DAG file the code view reads; a longer file is cut there."""


class DagSource(Schema):
    """The DAG file's text (secrets registered with the masker shown as ``***``)."""

    dag_id: str
    file: str
    source: str
    truncated: bool
    """True when the file is longer than the code view reads (:data:`MAX_SOURCE_BYTES`)."""


def dag_source(ctx: ServiceContext, dag_id: str, *, max_bytes: int = MAX_SOURCE_BYTES) -> DagSource:
    """The source of the file that defines ``dag_id``; not found when the database does not
    know the file or the file is gone."""
    from headwater.operations import dag_row
    from headwater.operations.errors import NotFoundError

    row = dag_row(ctx.store, dag_id)
    if not row.fileloc:
        raise NotFoundError(f"DAG {quoted(dag_id)} has no known file")
    path = Path(row.fileloc)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise NotFoundError(
            f"cannot read the file of DAG {quoted(dag_id)} ({row.fileloc}): {exc.strerror}"
        ) from None
    truncated = len(data) > max_bytes
    text = data[:max_bytes].decode("utf-8", errors="replace")
    return DagSource(dag_id=dag_id, file=row.fileloc, source=redact_text(text), truncated=truncated)


class TaskDoc(Schema):
    task_id: str
    doc_md: str


class DagDocs(Schema):
    """The DAG's ``doc_md`` and each task's that has one, as Markdown text (unrendered)."""

    dag_id: str
    description: str | None
    doc_md: str | None
    tasks: list[TaskDoc]


def dag_docs(ctx: ServiceContext, dag_id: str) -> DagDocs:
    """The docs of ``dag_id`` from its stored structure, tasks in the DAG's order."""
    _, dag = load_structure(ctx, dag_id)
    return DagDocs(
        dag_id=dag_id,
        description=redact_text(dag.description) if dag.description else None,
        doc_md=redact_text(dag.doc_md) if dag.doc_md else None,
        tasks=[
            TaskDoc(task_id=task.task_id, doc_md=redact_text(task.doc_md))
            for task in dag.topological_sort()
            if task.doc_md
        ],
    )
