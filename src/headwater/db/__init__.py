"""The SQL database behind the durable store: engine, tables, migrations.

Modules, each for one thing:

* :mod:`headwater.db.engine` -- ``create_db_engine(url)``: SQLite (the embedded default) tuned
  for several writing processes, or PostgreSQL through psycopg 3.
* :mod:`headwater.db.types` -- column types: timezone-aware UTC timestamps on every database.
* :mod:`headwater.db.models` -- the tables, as SQLAlchemy typed declarative models.
* :mod:`headwater.db.rows` -- the plain dataclasses the store returns for DAGs, files, pools,
  events and jobs (never ORM objects).
* :mod:`headwater.db.dialect` -- everything that differs between SQLite and PostgreSQL.
* :mod:`headwater.db.migrate` -- ``upgrade``, ``check``, ``reset``: the Alembic chain shipped in
  ``headwater/db/migrations``.
* :mod:`headwater.db.sqlite_files` -- the files of a SQLite database: which file a URL names,
  setting a damaged one aside.

The store itself is :class:`headwater.store.sql.SqlStore`. Importing this package imports
nothing heavy; the submodules import SQLAlchemy.
"""

from headwater.db.errors import DamagedDatabaseError, DatabaseError

__all__ = ["DamagedDatabaseError", "DatabaseError"]
