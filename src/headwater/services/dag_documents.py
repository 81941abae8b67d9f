"""What a DAG says of itself: its docs (``doc_md`` of the DAG and its tasks, from the
stored structure), through the secrets masker; rendering the Markdown is the UI's job. (Its
file's source is :func:`headwater.services.dag_details.get_dag_source`.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.masking import redact_text
from headwater.services._schema import Schema
from headwater.services.dag_structure import load_structure

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext


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
