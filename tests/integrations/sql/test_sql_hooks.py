"""DbApiHook on real PostgreSQL, SQLite and MariaDB: statements, transactions, reading rows,
inserting in batches, upserts, DataFrames, SQLAlchemy engines, and names that are refused."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sql_databases import SqlDb

from headwater.hooks.mysql import MySqlHook
from headwater.hooks.postgres import PostgresHook
from headwater.hooks.sql import DbApiHook, SqlHookError, fetch_all_handler, get_db_hook
from headwater.hooks.sql_identifiers import SqlIdentifierError
from headwater.hooks.sqlite import SqliteHook
from headwater.masking import redact_text
from headwater.secrets import Connection, ConnectionNotFoundError, use_metastore
from headwater.store.memory import MemoryStore

HOOKS = {"postgres": PostgresHook, "sqlite": SqliteHook, "mysql": MySqlHook}


def _people(db: SqlDb) -> str:
    table = db.table("people")
    db.hook().run(
        f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL, age INTEGER)"
    )
    return table


def _rows(db: SqlDb, table: str) -> list[tuple[object, ...]]:
    return db.hook().get_records(f"SELECT id, name, age FROM {table} ORDER BY id")


# -- which hook, which connection ---------------------------------------------------------------


def test_the_connection_type_picks_the_hook(db: SqlDb) -> None:
    hook = db.hook()
    assert type(hook) is HOOKS[db.kind]
    assert hook.conn_id == db.conn_id
    assert getattr(hook, hook.conn_name_attr) == db.conn_id
    ok, message = hook.test_connection()
    assert ok, message
    assert repr(db.conn_id) in message


def test_a_hook_takes_its_connection_id_positionally_or_by_name(db: SqlDb) -> None:
    cls = HOOKS[db.kind]
    by_name = cls(**{cls.conn_name_attr: db.conn_id})
    assert by_name.conn_id == cls(db.conn_id).conn_id == db.conn_id
    assert cls().conn_id == cls.default_conn_name
    with pytest.raises(TypeError, match="unexpected argument"):
        cls(db.conn_id, conn="other")
    with pytest.raises(TypeError, match="connection id twice"):
        cls(db.conn_id, **{cls.conn_name_attr: "other"})


def test_a_missing_connection_is_named() -> None:
    with use_metastore(MemoryStore()), pytest.raises(ConnectionNotFoundError, match="'nowhere'"):
        PostgresHook("nowhere").get_records("SELECT 1")


def test_a_connection_without_a_sql_hook_is_refused() -> None:
    store = MemoryStore()
    store.set_connection(Connection("api", "generic", host="example.com"))
    with (
        use_metastore(store),
        pytest.raises(
            SqlHookError,
            match="'api' is of type 'generic', served by BaseHook, which is not a SQL hook",
        ),
    ):
        get_db_hook("api")


def test_an_unreachable_database_is_named_with_where_it_was_looked_for(db: SqlDb) -> None:
    if db.kind == "sqlite":
        db.store.set_connection(Connection("bad", "sqlite", host="/no/such/folder/x.db"))
        expected = "SQLite file '/no/such/folder/x.db' does not exist"
    else:
        db.store.set_connection(
            Connection("bad", db.connection.conn_type, host="127.0.0.1", port=1, login="u")
        )
        expected = "cannot connect to connection 'bad'"
    ok, message = get_db_hook("bad").test_connection()
    assert not ok
    assert expected in message


def test_testing_a_sqlite_connection_to_a_missing_file_fails_and_creates_nothing(
    tmp_path: Path,
) -> None:
    """Opening it would create an empty database: a mistyped path would look like it works."""
    store = MemoryStore()
    missing = tmp_path / "typo.db"
    store.set_connection(Connection("typo", "sqlite", host=str(missing)))
    with use_metastore(store):
        ok, message = get_db_hook("typo").test_connection()
    assert (ok, message) == (False, f"SQLite file {str(missing)!r} does not exist")
    assert not missing.exists()


def test_the_password_is_masked_once_the_hook_reads_the_connection() -> None:
    store = MemoryStore()
    store.set_connection(Connection("secretive", "sqlite", host=":memory:", password="hunter2-pw"))
    with use_metastore(store):
        SqliteHook("secretive").get_first("SELECT 1")
    assert redact_text("password hunter2-pw here") == "password *** here"


# -- running statements -------------------------------------------------------------------------


def test_run_returns_the_handlers_result_for_one_or_each_statement(db: SqlDb) -> None:
    hook = db.hook()
    assert hook.run("SELECT 1") is None  # no handler, no result
    assert hook.run("SELECT 1 AS one", handler=fetch_all_handler) == [(1,)]
    script = "SELECT 1; SELECT 'a;b' AS s; -- a comment; with a semicolon\n SELECT 3"
    assert hook.run(script, split_statements=True, handler=fetch_all_handler) == [(3,)]
    every = hook.run(script, split_statements=True, handler=fetch_all_handler, return_last=False)
    assert every == [[(1,)], [("a;b",)], [(3,)]]
    assert hook.run(["SELECT 1", "SELECT 2"], handler=fetch_all_handler) == [[(1,)], [(2,)]]


def test_statements_run_in_one_transaction_unless_autocommit(db: SqlDb) -> None:
    table = _people(db)
    hook = db.hook()
    good = f"INSERT INTO {table} (id, name) VALUES (1, 'ada')"
    bad = f"INSERT INTO {table} (id, name) VALUES (1, 'again')"  # the same primary key

    with pytest.raises(Exception, match=r"(?i)duplicate|unique"):
        hook.run([good, bad])
    assert _rows(db, table) == []  # the first insert was rolled back with the second

    with pytest.raises(Exception, match=r"(?i)duplicate|unique"):
        hook.run([good, bad], autocommit=True)
    assert _rows(db, table) == [(1, "ada", None)]  # each statement committed on its own


def test_parameters_go_to_the_driver(db: SqlDb) -> None:
    table = _people(db)
    hook = db.hook()
    p = hook.placeholder
    hook.run(
        f"INSERT INTO {table} (id, name, age) VALUES ({p}, {p}, {p})", parameters=(7, "o'hara", 30)
    )
    assert hook.get_first(f"SELECT name, age FROM {table} WHERE id = {p}", [7]) == ("o'hara", 30)
    assert hook.get_first(f"SELECT name FROM {table} WHERE id = {p}", [8]) is None
    assert hook.get_records(f"SELECT name FROM {table} WHERE id > {p}", [100]) == []


def test_empty_sql_is_refused(db: SqlDb) -> None:
    with pytest.raises(SqlHookError, match="no SQL statement to run"):
        db.hook().run(" ;\n -- nothing\n", split_statements=True)
    with pytest.raises(SqlHookError, match="sql must be a string or a list of strings"):
        db.hook().run(42)  # type: ignore[arg-type]


# -- inserting ------------------------------------------------------------------------------------


def test_insert_rows_writes_every_batch(db: SqlDb) -> None:
    table = _people(db)
    rows = ((i, f"person {i}", i % 90) for i in range(1, 2_501))  # a generator: never a list

    written = db.hook().insert_rows(table, rows, ["id", "name", "age"], commit_every=1000)

    assert written == 2_500
    assert db.hook().get_first(f"SELECT COUNT(*), MIN(id), MAX(id) FROM {table}") == (
        2_500,
        1,
        2_500,
    )
    assert _rows(db, table)[41] == (42, "person 42", 42)


def test_insert_rows_without_target_fields_fills_every_column(db: SqlDb) -> None:
    table = _people(db)
    assert db.hook().insert_rows(table, [[1, "ada", 36], [2, "alan", None]]) == 2
    assert _rows(db, table) == [(1, "ada", 36), (2, "alan", None)]


def test_insert_rows_with_replace_updates_the_rows_whose_key_exists(db: SqlDb) -> None:
    table = _people(db)
    hook = db.hook()
    hook.insert_rows(table, [(1, "ada", 36), (2, "alan", 41)], ["id", "name", "age"])

    written = hook.insert_rows(
        table,
        [(2, "alan turing", 42), (3, "grace", 85)],
        ["id", "name", "age"],
        replace=True,
        replace_index="id",
    )

    assert written == 2
    assert _rows(db, table) == [(1, "ada", 36), (2, "alan turing", 42), (3, "grace", 85)]


def test_an_upsert_of_key_columns_only_keeps_the_rows(db: SqlDb) -> None:
    table = db.table("tags")
    db.hook().run(f"CREATE TABLE {table} (tag VARCHAR(20) PRIMARY KEY)")
    db.hook().insert_rows(table, [("a",), ("b",)], ["tag"])
    db.hook().insert_rows(table, [("b",), ("c",)], ["tag"], replace=True, replace_index=["tag"])
    assert db.hook().get_records(f"SELECT tag FROM {table} ORDER BY tag") == [
        ("a",),
        ("b",),
        ("c",),
    ]


def test_a_failing_batch_is_rolled_back_and_named(db: SqlDb) -> None:
    table = _people(db)
    rows = [(i, f"p{i}", None) for i in range(1, 6)] + [(6, None, None)]  # name is NOT NULL

    with pytest.raises(SqlHookError) as info:
        db.hook().insert_rows(table, rows, ["id", "name", "age"], commit_every=3)

    message = str(info.value)
    assert (
        f"insert into {table!r} failed in rows 4 to 6 (the 3 rows before were committed)" in message
    )
    assert [r[0] for r in _rows(db, table)] == [1, 2, 3]


def test_commit_every_zero_is_one_transaction(db: SqlDb) -> None:
    table = _people(db)
    rows = [(1, "a", None), (2, None, None)]
    with pytest.raises(SqlHookError, match="failed in rows 1 to 2 \\(none was committed\\)"):
        db.hook().insert_rows(table, rows, ["id", "name", "age"], commit_every=0)
    assert _rows(db, table) == []


@pytest.mark.parametrize(
    ("rows", "fields", "message"),
    [
        ([(1, "a")], ["id", "name", "age"], "row 1 has 2 value(s), expected 3 target field(s)"),
        ([(1, "a", 2), (2, "b")], None, "row 2 has 2 value(s), expected 3 like row 1"),
        (["abc"], None, "row 1 must be a tuple or list of values, got 'abc'"),
        ([(1,)], "id", "target_fields must be a list of column names, got the string 'id'"),
        ([(1, 1)], ["id", "id"], "target_fields names 'id' twice"),
    ],
)
def test_bad_rows_and_fields_are_named(
    lite: SqlDb, rows: list[object], fields: object, message: str
) -> None:
    table = _people(lite)
    with pytest.raises(SqlHookError) as info:
        lite.hook().insert_rows(table, rows, fields)  # type: ignore[arg-type]
    assert message in str(info.value)
    assert _rows(lite, table) == []


def test_replace_needs_its_key_where_the_database_does(db: SqlDb) -> None:
    table = _people(db)
    hook = db.hook()
    with pytest.raises(SqlHookError, match="replace=True needs target_fields"):
        hook.insert_rows(table, [(1, "a", 1)], replace=True, replace_index="id")
    with pytest.raises(SqlHookError, match="replace_index 'code' is not among target_fields"):
        hook.insert_rows(
            table, [(1, "a", 1)], ["id", "name", "age"], replace=True, replace_index="code"
        )
    with pytest.raises(SqlHookError, match="replace_index is only used with replace=True"):
        hook.insert_rows(table, [(1, "a", 1)], ["id", "name", "age"], replace_index="id")
    if db.kind == "mysql":  # ON DUPLICATE KEY UPDATE finds the key itself
        hook.insert_rows(table, [(1, "a", 1)], ["id", "name", "age"], replace=True)
        hook.insert_rows(table, [(1, "b", 2)], ["id", "name", "age"], replace=True)
        assert _rows(db, table) == [(1, "b", 2)]
    else:
        with pytest.raises(SqlHookError, match="needs replace_index"):
            hook.insert_rows(table, [(1, "a", 1)], ["id", "name", "age"], replace=True)


@pytest.mark.parametrize(
    ("table", "fields", "message"),
    [
        (
            "people; DROP TABLE people",
            ["id"],
            "table name 'people; DROP TABLE people' is not a plain SQL identifier",
        ),
        ('people" (id) VALUES (1); --', ["id"], "is not a plain SQL identifier"),
        ("people", ["id) VALUES (1); DROP TABLE people; --"], "column name 'id) VALUES"),
        ("a.b.c.d", ["id"], "has 4 parts; at most 3"),
        ("", ["id"], "table name must be a non-empty string"),
        ("x" * 64, ["id"], "is longer than 63 characters"),
    ],
)
def test_a_hostile_name_is_an_error_not_an_injection(
    db: SqlDb, table: str, fields: list[str], message: str
) -> None:
    people = _people(db)
    with pytest.raises(SqlIdentifierError) as info:
        db.hook().insert_rows(table, [(1,)], fields)
    assert message in str(info.value)
    assert _rows(db, people) == []  # the table is there, untouched


def test_names_are_quoted_so_reserved_words_work(db: SqlDb) -> None:
    table = db.table("orders")
    quote = db.hook().quote_char
    db.hook().run(
        f"CREATE TABLE {table} ({quote}order{quote} INTEGER, {quote}user{quote} VARCHAR(9))"
    )
    db.hook().insert_rows(table, [(1, "me")], ["order", "user"])
    assert db.hook().get_records(f"SELECT * FROM {table}") == [(1, "me")]


# -- DataFrames and SQLAlchemy ---------------------------------------------------------------------


def test_get_df_returns_the_columns_and_rows(db: SqlDb) -> None:
    table = _people(db)
    db.hook().insert_rows(table, [(1, "ada", 36), (2, "alan", 41)], ["id", "name", "age"])

    df = db.hook().get_df(f"SELECT id, name, age FROM {table} ORDER BY id")

    assert list(df.columns) == ["id", "name", "age"]
    assert df.to_dict("records") == [
        {"id": 1, "name": "ada", "age": 36},
        {"id": 2, "name": "alan", "age": 41},
    ]


def test_get_df_without_pandas_says_what_to_install(
    lite: SqlDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # what an environment without it sees
    with pytest.raises(SqlHookError, match=r"get_df needs pandas.*headwater\[pandas\]"):
        lite.hook().get_df("SELECT 1")


def test_the_sqlalchemy_engine_reaches_the_same_database(db: SqlDb) -> None:
    from sqlalchemy import text

    table = _people(db)
    db.hook().insert_rows(table, [(1, "ada", 36)], ["id", "name", "age"])
    engine = db.hook().get_sqlalchemy_engine()
    try:
        with engine.connect() as conn:
            assert conn.execute(text(f"SELECT name FROM {table}")).all() == [("ada",)]
    finally:
        engine.dispose()


def test_get_uri_names_the_driver_and_database(db: SqlDb) -> None:
    uri = db.hook().get_uri()
    expected = {
        "postgres": f"postgresql+psycopg://{db.connection.login}@",
        "sqlite": "sqlite:////",
        "mysql": "mysql+pymysql://root@",
    }[db.kind]
    assert uri.startswith(expected)
    if db.kind != "sqlite":
        assert uri.split("?")[0].endswith(f"/{db.connection.schema}")


# -- PostgreSQL only ------------------------------------------------------------------------------


def test_postgres_passes_libpq_parameters_from_extra(pg: SqlDb) -> None:
    pg.connection.extra = {"application_name": "hw-sql-test", "sslmode": "disable"}
    pg.store.set_connection(pg.connection)
    hook = PostgresHook(pg.conn_id)
    assert hook.get_first("SHOW application_name") == ("hw-sql-test",)
    assert "sslmode=disable" in hook.get_uri()
    assert hook.get_first("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == (False,)


def test_postgres_refuses_an_extra_libpq_does_not_know(pg: SqlDb) -> None:
    pg.connection.extra = {"sslmood": "require"}
    pg.store.set_connection(pg.connection)
    with pytest.raises(
        SqlHookError, match="extra field 'sslmood' is not a libpq connection parameter"
    ):
        PostgresHook(pg.conn_id).get_first("SELECT 1")


def test_postgres_copy_expert_reads_and_writes_files(
    pg: SqlDb, tmp_path: pytest.TempPathFactory
) -> None:
    table = _people(pg)
    source = tmp_path / "in.csv"  # type: ignore[operator]
    source.write_text("1,ada,36\n2,alan,\n")
    hook = PostgresHook(pg.conn_id)

    copied_in = hook.copy_expert(
        f"COPY {table} (id, name, age) FROM STDIN WITH (FORMAT csv)", str(source)
    )
    target = tmp_path / "out.csv"  # type: ignore[operator]
    copied_out = hook.copy_expert(
        f"COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT WITH (FORMAT csv)", str(target)
    )

    assert copied_in == len(source.read_bytes())
    assert _rows(pg, table) == [(1, "ada", 36), (2, "alan", None)]
    assert target.read_text() == "1,ada,36\n2,alan,\n"
    assert copied_out == len(target.read_bytes())
    with pytest.raises(SqlHookError, match=r"needs a COPY \.\.\. FROM STDIN or TO STDOUT"):
        hook.copy_expert(f"SELECT * FROM {table}", str(target))


def test_postgres_insert_rows_copies_values_of_every_type(pg: SqlDb) -> None:
    import datetime as dt
    from decimal import Decimal

    table = pg.table("typed")
    hook = PostgresHook(pg.conn_id)
    hook.run(
        f"CREATE TABLE {table} (id INT, amount NUMERIC(10,2), at TIMESTAMPTZ, note TEXT, ok BOOLEAN)"
    )
    at = dt.datetime(2024, 1, 31, 12, 30, tzinfo=dt.UTC)
    rows = [
        (1, Decimal("12.50"), at, "tab\there, newline\nthere, \\ and 'quotes'", True),
        (2, None, None, None, None),
    ]

    hook.insert_rows(table, rows, ["id", "amount", "at", "note", "ok"])

    assert hook.get_records(f"SELECT * FROM {table} ORDER BY id") == rows


# -- a hook of one's own ------------------------------------------------------------------------


class _NoConnHook(DbApiHook):
    conn_name_attr = "thing_conn_id"
    default_conn_name = "thing_default"


def test_a_subclass_without_get_conn_says_so(lite: SqlDb) -> None:
    with pytest.raises(NotImplementedError, match="_NoConnHook must implement get_conn"):
        _NoConnHook(lite.conn_id).run("SELECT 1")


def test_an_upsert_batch_with_a_key_twice_keeps_its_last_row(db: SqlDb) -> None:
    table = _people(db)
    db.hook().insert_rows(table, [(1, "ada", 36)], ["id", "name", "age"])
    rows = [(1, "first", 1), (2, "two", 2), (1, "last", 3), (3, "three", 3), (2, "two again", 4)]

    for commit_every in (2, 0):  # duplicates within one batch and across batches
        written = db.hook().insert_rows(
            table,
            rows,
            ["id", "name", "age"],
            commit_every=commit_every,
            replace=True,
            replace_index="id",
        )
        assert written == 5
        assert _rows(db, table) == [(1, "last", 3), (2, "two again", 4), (3, "three", 3)]


def test_a_task_using_a_hook_logs_its_statements_and_progress(lite: SqlDb) -> None:
    from datetime import UTC, datetime

    from headwater import DAG, task
    from headwater.testing import run_dag

    table = _people(lite)

    with DAG("hook_in_a_task", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None) as dag:

        @task
        def load() -> int:
            rows = [(i, f"p{i}", i) for i in range(1, 26)]
            return SqliteHook(lite.conn_id).insert_rows(
                table, rows, ["id", "name", "age"], commit_every=2
            )

        load()

    result = run_dag(dag, store=lite.store)

    assert result.xcom("load") == 25
    log = result.log("load")
    assert "Inserted 20 row(s) into people so far" in log  # every 10 batches of 2
    assert "so far" not in log.replace("Inserted 20 row(s) into people so far", "")
    assert "Inserted 25 row(s) into people\n" in log


# -- MySQL only -----------------------------------------------------------------------------------


@pytest.fixture
def maria(mysql_database: Connection) -> Iterator[Connection]:
    store = MemoryStore()
    store.set_connection(mysql_database)
    with use_metastore(store):
        yield mysql_database


def _with_extra(connection: Connection, extra: dict[str, object]) -> MySqlHook:
    return MySqlHook(connection.conn_id, connection=dataclasses.replace(connection, extra=extra))


def test_mysql_passes_its_options_from_extra(maria: Connection) -> None:
    hook = _with_extra(
        maria, {"charset": "utf8mb4", "connect_timeout": "5", "init_command": "SET @hw = 42"}
    )
    assert hook.get_first("SELECT @hw, @@character_set_client") == (42, "utf8mb4")
    assert hook.connect_kwargs()["connect_timeout"] == 5


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"sslmood": "on"}, "extra field 'sslmood' is not a MySQL option; known: charset"),
        (
            {"connect_timeout": "soon"},
            "extra field 'connect_timeout' must be a number of seconds, got 'soon'",
        ),
        (
            {"local_infile": "maybe"},
            "extra field 'local_infile' must be true or false, got 'maybe'",
        ),
    ],
)
def test_mysql_refuses_an_extra_it_cannot_use(
    maria: Connection, extra: dict[str, object], message: str
) -> None:
    with pytest.raises(SqlHookError) as info:
        _with_extra(maria, extra).get_first("SELECT 1")
    assert message in str(info.value)
