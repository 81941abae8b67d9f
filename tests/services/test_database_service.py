"""The database itself through the services: opening a context, migrate, check, reset; and
the settings, import errors and JSON rules every schema shares."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from headwater.exceptions import (
    HeadwaterError,
    ParamValidationError,
    StaleWriteError,
    TaskNotFoundError,
)
from headwater.services._schema import IsoDatetime, Schema
from headwater.services.config import list_settings
from headwater.services.context import ServiceContext, open_context
from headwater.services.database import check_database, migrate_database, reset_database
from headwater.services.errors import (
    ConflictError,
    DagNotInDatabaseError,
    DamagedDatabaseError,
    DatabaseError,
    InvalidRequestError,
    NoAttemptYetError,
    NotFoundError,
    status_code,
)
from headwater.services.import_errors import ImportErrorOut, list_import_errors
from headwater.services.variables import list_variables, set_variable
from headwater.settings import Settings, load_settings
from stored_dags import scan_here


def test_migrate_check_and_reset_a_new_sqlite_file(settings: Settings) -> None:
    missing = check_database(settings)
    assert not missing.up_to_date
    assert "does not exist: run `headwater db migrate`" in missing.description
    assert not (settings.home / "headwater.db").exists()  # checking created nothing

    migrated = migrate_database(settings)
    assert migrated.applied and migrated.state == "up_to_date" and migrated.pending == []
    assert migrated.to_json()["database"] == settings.database_url
    assert "description" not in migrated.to_json()  # for people, not for scripts
    assert check_database(settings).up_to_date
    assert migrate_database(settings).applied == []

    with open_context(settings) as ctx:
        set_variable(ctx, "kept", "no")
    reset = reset_database(settings)
    assert (reset.damaged_file_moved_to, reset.state) == (None, "up_to_date")
    with open_context(settings) as ctx:
        assert list_variables(ctx) == []


def test_a_context_needs_a_migrated_database(settings: Settings) -> None:
    with pytest.raises(DatabaseError, match="run `headwater db migrate`"), open_context(settings):
        pass
    assert not (settings.home / "headwater.db").exists()
    with open_context(settings, migrate=True) as ctx:
        assert isinstance(ctx, ServiceContext)
        assert ctx.settings is settings
        assert ctx.now().tzinfo is not None


def test_an_unreachable_database_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Port 1 on this machine: nothing listens, so the connection is refused at once.
    monkeypatch.setenv("HEADWATER_DATABASE_URL", "postgresql+psycopg://hw:pw@127.0.0.1:1/hw")
    with pytest.raises(DatabaseError) as raised, open_context(load_settings()):
        pass
    message = str(raised.value)
    assert message.startswith("cannot use the database postgresql+psycopg://hw:***@127.0.0.1:1/hw")
    assert "\n" not in message and "pw@" not in message


def test_settings_hide_the_database_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_DATABASE_URL", "postgresql+psycopg://hw:pw@db:5432/hw")
    rows = {row.setting: row for row in list_settings(load_settings())}
    assert rows["database.url"].value == "postgresql+psycopg://hw:***@db:5432/hw"
    assert rows["database.url"].source == "env HEADWATER_DATABASE_URL"
    assert rows["home"].to_json()["value"] == str(load_settings().home)


def test_import_errors_as_stored(ctx: ServiceContext, folder: Path) -> None:
    assert list_import_errors(ctx) == []
    (folder / "broken.py").write_text("import headwater  # a DAG file\n1/0\n")
    scan_here(ctx.store, folder, clock=ctx.store.clock)
    [error] = list_import_errors(ctx)
    assert isinstance(error, ImportErrorOut)
    assert (error.filename, error.line) == (str(folder / "broken.py"), 2)
    assert "ZeroDivisionError" in error.message
    assert error.to_json()["created_at"] == "2024-06-01T12:00:00+00:00"


class _Sample(Schema):
    at: IsoDatetime
    conf: dict[str, object]


def test_schemas_write_times_as_python_does_and_keep_nan_for_the_json_writer() -> None:
    plus_two = timezone(timedelta(hours=2))
    sample = _Sample(at=datetime(2024, 1, 31, 6, tzinfo=plus_two), conf={"x": [math.nan, 1.5]})
    data = sample.to_json()
    assert data["at"] == "2024-01-31T06:00:00+02:00"
    assert math.isnan(data["conf"]["x"][0])  # type: ignore[index]
    assert _Sample(at=datetime(2024, 1, 1, tzinfo=UTC), conf={}).to_json()["at"] == (
        "2024-01-01T00:00:00+00:00"
    )
    with pytest.raises(ValueError, match="frozen"):
        sample.at = datetime(2024, 1, 1, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFoundError("no variable 'x'"), 404),
        (DagNotInDatabaseError("no DAG 'x' in the database"), 404),
        (NoAttemptYetError("no attempt"), 404),
        (TaskNotFoundError("DAG 'etl' has no task 'x'"), 404),
        (ConflictError("run_id 'r' is taken"), 409),
        (StaleWriteError("etl/r1", "running", "queued", what="run"), 409),
        (InvalidRequestError("state 'x' is not one of"), 400),
        (ParamValidationError("param 'region'"), 400),
        (DatabaseError("cannot use the database"), 503),
        (DamagedDatabaseError("/tmp/h.db", "malformed"), 503),
    ],
)
def test_each_error_has_its_status_for_the_api(error: HeadwaterError, status: int) -> None:
    assert status_code(error) == status
