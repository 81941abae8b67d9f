"""Reading what operations act on: a stored DAG rebuilt from its serialization, a run."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from headwater.authoring.dates import plain_datetime
from headwater.db.models import ID_LENGTH
from headwater.operations.errors import (
    ConflictError,
    DagNotInDatabaseError,
    InvalidRequestError,
    NotFoundError,
)
from headwater.shown_text import quoted

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.db.rows import DagRow
    from headwater.engine.records import DagRun
    from headwater.engine.xcoms import XComs
    from headwater.store.ports import Store


def dag_row(store: Store, dag_id: str) -> DagRow:
    """The ``dags`` row of ``dag_id``, or an error saying how DAGs get into the database."""
    row = store.get_dag(dag_id)
    if row is None:
        known = ", ".join(r.dag_id for r in store.list_dags()) or "none"
        raise DagNotInDatabaseError(
            f"no DAG {quoted(dag_id)} in the database (active DAGs: {known}); DAGs get there when "
            "the DAG processor parses their file (`headwater dag-processor` or "
            "`headwater scheduler`)"
        )
    return row


def stored_dag(store: Store, dag_id: str, *, action: str) -> tuple[DagRow, DAG]:
    """The row and rebuilt structure of an active DAG; ``action`` names what was refused."""
    from headwater.dag_processing.serialized_dag import deserialize_dag

    row = dag_row(store, dag_id)
    if not row.is_active or row.serialized is None:
        where = f" (it was in {row.fileloc})" if row.fileloc else ""
        raise ConflictError(
            f"DAG {quoted(dag_id)} is no longer defined by any DAG file{where}: cannot {action} it"
        )
    return row, deserialize_dag(row.serialized)


def require_run(store: Store, dag_id: str, run_id: str) -> DagRun:
    run = store.get_dag_run(dag_id, run_id)
    if run is None:
        raise NotFoundError(f"DAG {quoted(dag_id)} has no run {quoted(run_id)}")
    return run


def require_aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRequestError(f"{field} {value.isoformat()} has no time zone")
    return plain_datetime(value)


_NAME = re.compile(rf"[A-Za-z0-9_.-]{{1,{ID_LENGTH}}}")

NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
"""What :func:`require_name` accepts (with 1 to ``ID_LENGTH`` characters), for request
schemas that name the field at fault before the operation runs."""


def require_name(value: str, field: str) -> str:
    """A pool name, variable key or connection id: 1 to 250 ASCII letters, digits, ``_``,
    ``-`` and ``.``, as DAG ids (Airflow's rule for connection ids). Names are printed
    by every listing and error, so a control character or terminal escape sequence in one
    would act on the reader's terminal; spaces and other punctuation would need quoting in
    templates (``{{ var.value.<key> }}``) and shells."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidRequestError(
            f"{field} {quoted(value)} is not valid: use 1 to {ID_LENGTH} letters, digits, "
            "'_', '-' and '.'"
        )
    return value


def xcoms_for(store: Store) -> XComs:
    """An XComs object for creating runs (creation writes no XCom: the defaults do)."""
    from headwater.engine.xcoms import XComs
    from headwater.settings import XComSettings
    from headwater.xcom_serializers import load_serializer

    return XComs(store, load_serializer(None), XComSettings().max_size_bytes)
