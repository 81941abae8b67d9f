"""The SQL store's DAG catalog: DAG files, DAGs (serialized, with their scheduling state)
and import errors, as the DAG processor writes them and the scheduler reads them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, insert, select, update

from headwater.db.convert import (
    ATTEMPTS,
    DAG_FILES,
    DAGS,
    IMPORT_ERRORS,
    RUNS,
    TIS,
    XCOMS,
    dag_params,
    to_dag,
)
from headwater.db.rows import DagFileRow, DagRow, DagVersionRow, ImportErrorRow
from headwater.store.sql.core import SqlCore


class SqlDags(SqlCore):
    """DAG files, DAGs and import errors on SQL."""

    # -- DAG files and DAGs --------------------------------------------------------------------

    def upsert_dag_file(
        self, path: str, source_hash: str, mtime: float, dag_ids: Iterable[str], now: datetime
    ) -> None:
        """Record that ``path`` was parsed at ``now`` and defines ``dag_ids``."""
        params = {
            "path": path,
            "source_hash": source_hash,
            "mtime": mtime,
            "dag_ids": list(dag_ids),
            "last_parsed_at": now,
        }
        with self._write() as conn:
            conn.execute(self._stmts.upsert_dag_file, params)

    def get_dag_files(self) -> dict[str, DagFileRow]:
        with self._read() as conn:
            rows = conn.execute(select(DAG_FILES))
            return {row.path: DagFileRow(**row._mapping) for row in rows}

    def delete_dag_file(self, path: str) -> bool:
        with self._write() as conn:
            return bool(conn.execute(delete(DAG_FILES).where(DAG_FILES.c.path == path)).rowcount)

    def upsert_dag(self, row: DagRow) -> None:
        """Create or update a DAG from a parse.

        A new row takes every field of ``row``. An existing row keeps ``is_paused`` and the
        ``next_dagrun_*`` fields (change them with :meth:`set_dag_paused` and
        :meth:`set_next_dagrun`): re-parsing a file never unpauses a DAG or moves its
        schedule.
        """
        with self._write() as conn:
            conn.execute(self._stmts.upsert_dag, dag_params(row))

    def get_dag(self, dag_id: str) -> DagRow | None:
        with self._read() as conn:
            row = conn.execute(select(DAGS).where(DAGS.c.dag_id == dag_id)).first()
        return to_dag(row) if row is not None else None

    def list_dags(self, include_inactive: bool = False) -> list[DagRow]:
        """DAGs by id; those no file defines any more only with ``include_inactive``."""
        query = select(DAGS).order_by(DAGS.c.dag_id)
        if not include_inactive:
            query = query.where(DAGS.c.is_active.is_(True))
        with self._read() as conn:
            return [to_dag(row) for row in conn.execute(query)]

    def list_dag_versions(self) -> list[DagVersionRow]:
        """The active DAGs by id, without their serialized structure (not even selected:
        it is the large column, and a scheduler pass asks every ``loop_interval_s``)."""
        query = (
            select(DAGS.c.dag_id, DAGS.c.source_hash, DAGS.c.fileloc, DAGS.c.is_paused)
            .where(DAGS.c.is_active.is_(True))
            .order_by(DAGS.c.dag_id)
        )
        with self._read() as conn:
            return [
                DagVersionRow(row.dag_id, row.source_hash, row.fileloc, bool(row.is_paused))
                for row in conn.execute(query)
            ]

    def set_dag_paused(self, dag_id: str, paused: bool) -> bool:
        """Pause or unpause a DAG; False if the DAG is unknown."""
        query = update(DAGS).where(DAGS.c.dag_id == dag_id).values(is_paused=paused)
        with self._write() as conn:
            return bool(conn.execute(query).rowcount)

    def deactivate_dags(self, dag_ids: Iterable[str]) -> int:
        """Mark DAGs no file defines any more as inactive; returns how many changed."""
        ids = list(dag_ids)
        if not ids:
            return 0
        query = (
            update(DAGS)
            .where(DAGS.c.dag_id.in_(ids), DAGS.c.is_active.is_(True))
            .values(is_active=False)
        )
        with self._write() as conn:
            return int(conn.execute(query).rowcount)

    def set_next_dagrun(
        self,
        dag_id: str,
        logical_date: datetime | None,
        interval_start: datetime | None,
        interval_end: datetime | None,
        create_after: datetime | None,
    ) -> bool:
        """Store when the DAG's next scheduled run is due; False if the DAG is unknown."""
        query = (
            update(DAGS)
            .where(DAGS.c.dag_id == dag_id)
            .values(
                next_dagrun_logical_date=logical_date,
                next_dagrun_data_interval_start=interval_start,
                next_dagrun_data_interval_end=interval_end,
                next_dagrun_create_after=create_after,
            )
        )
        with self._write() as conn:
            return bool(conn.execute(query).rowcount)

    def delete_dag(self, dag_id: str) -> dict[str, int]:
        """Delete a DAG with all its runs, task instances, attempts and XComs.

        Returns how many rows went from each table (``{"dags": 1, "dag_runs": 3, ...}``).
        The event log keeps its entries.
        """
        counts = {}
        with self._write() as conn:
            for table in (XCOMS, ATTEMPTS, TIS, RUNS, DAGS):
                counts[table.name] = conn.execute(
                    delete(table).where(table.c.dag_id == dag_id)
                ).rowcount
        return counts

    # -- import errors -------------------------------------------------------------------------

    def set_import_errors(self, filename: str, errors: Iterable[ImportErrorRow]) -> None:
        """Replace the import errors of ``filename`` with ``errors`` (none clears them)."""
        rows = [
            {
                "filename": filename,
                "position": position,
                "line": error.line,
                "message": error.message,
                "stacktrace": error.stacktrace,
                "created_at": error.created_at,
            }
            for position, error in enumerate(errors)
        ]
        with self._write() as conn:
            conn.execute(delete(IMPORT_ERRORS).where(IMPORT_ERRORS.c.filename == filename))
            if rows:
                conn.execute(insert(IMPORT_ERRORS), rows)

    def clear_import_errors(self, filename: str) -> None:
        self.set_import_errors(filename, [])

    def list_import_errors(self) -> list[ImportErrorRow]:
        """Every import error, by file, in the order they were given."""
        query = select(IMPORT_ERRORS).order_by(IMPORT_ERRORS.c.filename, IMPORT_ERRORS.c.position)
        with self._read() as conn:
            return [
                ImportErrorRow(
                    filename=row.filename,
                    message=row.message,
                    created_at=row.created_at,
                    line=row.line,
                    stacktrace=row.stacktrace,
                )
                for row in conn.execute(query)
            ]
