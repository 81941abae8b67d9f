"""Migration 0011 (``dags.display_name``) on SQLite and PostgreSQL: DAGs stored before it get
the display name their serialized form holds (none when it holds none, or cannot be read);
going back to 0010 removes the column and keeps the DAGs."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import inspect, text

from headwater.db.engine import create_db_engine
from headwater.db.migrate import alembic_config, upgrade
from headwater.store.sql import SqlStore

INSERT = "INSERT INTO dags (dag_id, serialized) VALUES (:dag_id, :serialized)"


def test_0011_fills_the_display_names_of_stored_dags_then_goes_back(scratch_db_url: str) -> None:
    engine = create_db_engine(scratch_db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0010")
            for dag_id, serialized in [
                ("named", json.dumps({"dag": {"dag_id": "named", "dag_display_name": "Sales 📈"}})),
                ("plain", json.dumps({"dag": {"dag_id": "plain"}})),
                ("unreadable", "{not json"),
                ("empty", None),
            ]:
                conn.execute(text(INSERT), {"dag_id": dag_id, "serialized": serialized})
        assert upgrade(engine)[0] == "0011"  # then the later revisions
        names = {row.dag_id: row.display_name for row in SqlStore(engine).list_dag_headers()}
        assert names == {"named": "Sales 📈", "plain": None, "unreadable": None, "empty": None}

        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0010")
        assert "display_name" not in {c["name"] for c in inspect(engine).get_columns("dags")}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM dags")).scalar_one() == 4
    finally:
        engine.dispose()
