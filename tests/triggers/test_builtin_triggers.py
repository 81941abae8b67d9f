"""The built-in triggers on their own: each waits for its condition, fires once with its
payload, reports errors as events, and survives serialization (what the triggerer stores)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from headwater.exceptions import HeadwaterError
from headwater.secrets import use_metastore
from headwater.store.memory import MemoryStore
from headwater.triggers import (
    BaseTrigger,
    DateTimeTrigger,
    FileTrigger,
    HttpTrigger,
    ResponseCondition,
    SqlTrigger,
    TimeDeltaTrigger,
    build_trigger,
)
from headwater.triggers.base import run_coroutine
from waiting_services import ScriptedApi, WaitDb

MOMENT = datetime(2030, 5, 1, 6, 30, tzinfo=UTC)


def first_event(trigger: BaseTrigger, *also: Awaitable[Any], timeout: float = 10.0) -> Any:
    """The payload of the first event ``trigger`` yields (running ``also`` meanwhile)."""

    async def main() -> Any:
        async def event() -> Any:
            return (await anext(aiter(trigger.run()))).payload

        results = await asyncio.wait_for(asyncio.gather(event(), *also), timeout)
        return results[0]

    return run_coroutine(main())


def still_waiting(trigger: BaseTrigger, seconds: float = 0.2) -> bool:
    """Whether ``trigger`` has not fired within ``seconds``."""

    async def main() -> bool:
        try:
            await asyncio.wait_for(anext(aiter(trigger.run())), seconds)
        except TimeoutError:
            return True
        return False

    return run_coroutine(main())


# -- serialization ---------------------------------------------------------------------------


def _every_trigger() -> list[BaseTrigger]:
    return [
        DateTimeTrigger(MOMENT),
        DateTimeTrigger("2030-05-01T08:30:00+02:00"),
        FileTrigger("/data/in/*.csv", recursive=True, poke_interval=2),
        HttpTrigger(
            endpoint="v1/jobs/7",
            http_conn_id="api",
            data={"verbose": "1"},
            headers={"X-Team": "data"},
            extra_options={"timeout": 5},
            response_check=ResponseCondition(status_codes=(200,), json_path="state", equals=None),
            response_error_codes_allowlist=["404", 409],
            poke_interval=3,
        ),
        HttpTrigger(endpoint="ready", method="post", data="ping"),
        SqlTrigger(
            conn_id="db",
            sql="SELECT state FROM loads WHERE day = %(day)s",
            parameters={"day": "2024-01-31"},
            success=("in", ["done", "skipped"]),
            failure=("==", "failed"),
            fail_on_empty=True,
            poke_interval=30,
            hook_params={"schema": "analytics"},
        ),
        SqlTrigger(conn_id="db", sql="SELECT 1"),
    ]


@pytest.mark.parametrize("trigger", _every_trigger(), ids=lambda t: type(t).__name__)
def test_every_trigger_round_trips_through_json_and_build_trigger(trigger: BaseTrigger) -> None:
    classpath, kwargs = trigger.serialize()
    stored = json.loads(json.dumps(kwargs))  # what the triggers table holds
    rebuilt = build_trigger(classpath, stored)
    assert type(rebuilt) is type(trigger)
    assert rebuilt.serialize() == (classpath, kwargs)


def test_a_time_delta_trigger_is_stored_as_the_date_time_trigger_of_its_moment() -> None:
    before = datetime.now(UTC)
    trigger = TimeDeltaTrigger(timedelta(hours=2))
    classpath, kwargs = trigger.serialize()
    assert classpath == "headwater.triggers.temporal.DateTimeTrigger"
    moment = datetime.fromisoformat(kwargs["moment"])
    assert before + timedelta(hours=2) <= moment <= datetime.now(UTC) + timedelta(hours=2)
    # Rebuilt after a triggerer restart, it keeps its moment: the wait does not start over.
    assert build_trigger(classpath, kwargs).serialize() == (classpath, kwargs)


# -- date and time ---------------------------------------------------------------------------


def test_date_time_trigger_refuses_a_naive_moment() -> None:
    with pytest.raises(HeadwaterError, match=r"moment 2030-05-01T06:30:00 is naive"):
        DateTimeTrigger(datetime(2030, 5, 1, 6, 30))
    with pytest.raises(HeadwaterError, match="naive"):
        DateTimeTrigger("2030-05-01T06:30:00")
    with pytest.raises(HeadwaterError, match="'tomorrow' is not an ISO 8601"):
        DateTimeTrigger("tomorrow")


def test_date_time_trigger_keeps_the_moment_in_utc() -> None:
    paris = timezone(timedelta(hours=2))
    trigger = DateTimeTrigger(datetime(2030, 5, 1, 8, 30, tzinfo=paris))
    assert trigger.moment == MOMENT
    assert trigger.serialize()[1] == {"moment": "2030-05-01T06:30:00+00:00"}


def test_date_time_trigger_fires_at_its_moment_with_it_as_payload() -> None:
    moment = datetime.now(UTC) + timedelta(milliseconds=100)
    payload = first_event(DateTimeTrigger(moment))
    assert datetime.now(UTC) >= moment
    assert payload == moment.isoformat()


def test_date_time_trigger_in_the_past_fires_at_once() -> None:
    assert first_event(DateTimeTrigger("2020-01-01T00:00:00+00:00")) == "2020-01-01T00:00:00+00:00"


def test_date_time_trigger_in_the_future_waits() -> None:
    assert still_waiting(DateTimeTrigger(datetime.now(UTC) + timedelta(hours=1)))


def test_time_delta_trigger_fires_after_its_delta() -> None:
    start = datetime.now(UTC)
    first_event(TimeDeltaTrigger(timedelta(milliseconds=100)))
    assert datetime.now(UTC) - start >= timedelta(milliseconds=100)


# -- files -----------------------------------------------------------------------------------


def test_file_trigger_fires_with_the_file_it_found_once_it_appears(tmp_path: Path) -> None:
    trigger = FileTrigger(str(tmp_path / "in" / "orders_*.csv"), poke_interval=0.01)
    assert still_waiting(trigger, 0.1)

    async def drop_file() -> None:
        await asyncio.sleep(0.05)
        (tmp_path / "in").mkdir()
        (tmp_path / "in" / "orders_1.csv").write_text("id\n1\n")

    assert first_event(trigger, drop_file()) == str(tmp_path / "in" / "orders_1.csv")


def test_file_trigger_recursive_glob_and_folders_holding_files(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    (deep / "part-0.parquet").write_text("x")
    assert still_waiting(FileTrigger(str(tmp_path / "**" / "*.parquet"), poke_interval=0.01), 0.1)
    found = first_event(
        FileTrigger(str(tmp_path / "**" / "*.parquet"), recursive=True, poke_interval=0.01)
    )
    assert found == str(deep / "part-0.parquet")
    # A matched folder counts once it holds a file; an empty one does not.
    (tmp_path / "empty").mkdir()
    assert still_waiting(FileTrigger(str(tmp_path / "empty"), poke_interval=0.01), 0.1)
    assert first_event(FileTrigger(str(tmp_path / "a"))) == str(deep / "part-0.parquet")


def test_file_trigger_checks_its_arguments() -> None:
    with pytest.raises(HeadwaterError, match="filepath must be a non-empty path"):
        FileTrigger("")
    with pytest.raises(HeadwaterError, match="poke_interval must be > 0 seconds, got 0"):
        FileTrigger("/x", poke_interval=0)


# -- HTTP ------------------------------------------------------------------------------------


def _with_api(api: ScriptedApi) -> MemoryStore:
    store = MemoryStore()
    store.set_connection(api.connection())
    return store


def test_http_trigger_polls_until_the_json_path_has_the_value(scripted_api: ScriptedApi) -> None:
    scripted_api.script(
        "/v1/jobs/7",
        [(404, {}), (200, {"job": {"state": "running"}}), (200, {"job": {"state": "done"}})],
    )
    trigger = HttpTrigger(
        endpoint="v1/jobs/7",
        http_conn_id="api",
        response_check=ResponseCondition(json_path="job.state", equals="done"),
        poke_interval=0.01,
    )
    with use_metastore(_with_api(scripted_api)):
        payload = first_event(trigger)
    assert payload == {"status": "success", "status_code": 200}
    assert scripted_api.asked == ["/v1/jobs/7"] * 3


def test_http_trigger_without_a_check_fires_on_the_first_answer_below_400(
    scripted_api: ScriptedApi,
) -> None:
    scripted_api.script("/ready", [(404, {}), (404, {}), (204, "")])
    trigger = HttpTrigger(endpoint="ready", http_conn_id="api", poke_interval=0.01)
    with use_metastore(_with_api(scripted_api)):
        assert first_event(trigger) == {"status": "success", "status_code": 204}
    assert len(scripted_api.asked) == 3


def test_http_trigger_status_codes_and_substring(scripted_api: ScriptedApi) -> None:
    scripted_api.script("/export", [(202, "queued"), (200, "still queued"), (200, "export ready")])
    trigger = HttpTrigger(
        endpoint="export",
        http_conn_id="api",
        response_check={"status_codes": [200], "contains": "ready"},
        poke_interval=0.01,
    )
    with use_metastore(_with_api(scripted_api)):
        assert first_event(trigger) == {"status": "success", "status_code": 200}
    assert len(scripted_api.asked) == 3


def test_http_trigger_reports_an_error_answer_as_an_error_event(scripted_api: ScriptedApi) -> None:
    scripted_api.script("/broken", [(404, {}), (500, {"error": "disk full"})])
    trigger = HttpTrigger(endpoint="broken", http_conn_id="api", poke_interval=0.01)
    with use_metastore(_with_api(scripted_api)):
        payload = first_event(trigger)
    assert payload["status"] == "error"
    assert payload["message"].startswith("HttpResponseError: GET http://127.0.0.1:")
    assert "/broken answered 500 Internal Server Error" in payload["message"]
    assert "disk full" in payload["message"]


def test_http_trigger_reports_an_unreachable_server_and_a_missing_connection(
    scripted_api: ScriptedApi,
) -> None:
    store = _with_api(scripted_api)
    store.set_connection(
        ScriptedApi(port=1).connection("nowhere")  # nothing listens on port 1
    )
    with use_metastore(store):
        payload = first_event(HttpTrigger(endpoint="x", http_conn_id="nowhere"))
        assert payload["status"] == "error"
        assert payload["message"].startswith("ConnectError")
        payload = first_event(HttpTrigger(endpoint="x", http_conn_id="missing"))
    assert payload["status"] == "error"
    assert "missing" in payload["message"]


def test_http_trigger_refuses_a_function_as_its_check() -> None:
    with pytest.raises(HeadwaterError, match="a function cannot be stored as JSON"):
        HttpTrigger(endpoint="x", response_check=lambda response: True)  # type: ignore[arg-type]
    with pytest.raises(HeadwaterError, match="unknown extra_options \\['verify'\\]"):
        HttpTrigger(endpoint="x", extra_options={"verify": False})
    with pytest.raises(HeadwaterError, match="must hold 4xx/5xx statuses, got 'soon'"):
        HttpTrigger(endpoint="x", response_error_codes_allowlist=["soon"])


def test_response_condition_checks_and_judges_bodies() -> None:
    with pytest.raises(HeadwaterError, match="equals needs a json_path"):
        ResponseCondition(equals="done")
    with pytest.raises(HeadwaterError, match="status_codes must hold HTTP statuses, got 999"):
        ResponseCondition(status_codes=(999,))
    with pytest.raises(HeadwaterError, match=r"unknown response condition field\(s\) \['path'\]"):
        ResponseCondition.from_json({"path": "x"})
    items = json.dumps({"items": [{"id": 3}], "empty": [], "none": None})
    assert ResponseCondition(json_path="items.0.id", equals=3).body_met(items)
    assert ResponseCondition(json_path="items.-1.id").body_met(items)
    assert not ResponseCondition(json_path="items.1.id").body_met(items)
    assert not ResponseCondition(json_path="empty").body_met(items)
    assert ResponseCondition(json_path="none", equals=None).body_met(items)
    assert not ResponseCondition(json_path="items").body_met("not json")
    condition = ResponseCondition(status_codes=(200,), json_path="none", equals=None)
    assert ResponseCondition.from_json(json.loads(json.dumps(condition.to_json()))) == condition


# -- SQL -------------------------------------------------------------------------------------


def _loads_table(db: WaitDb, state: str | None) -> str:
    table = db.table("loads")
    db.run(f"CREATE TABLE {table} (day VARCHAR(10), state VARCHAR(20))")
    if state is not None:
        db.run(f"INSERT INTO {table} VALUES ('2024-01-31', '{state}')")
    return table


def test_sql_trigger_waits_until_the_first_cell_meets_success(wait_db: WaitDb) -> None:
    table = _loads_table(wait_db, "running")
    trigger = SqlTrigger(
        conn_id="db",
        sql=f"SELECT state FROM {table} WHERE day = {wait_db.placeholder}",
        parameters=["2024-01-31"],
        success=("in", ["done", "skipped"]),
        failure=("==", "failed"),
        poke_interval=0.01,
    )
    assert still_waiting(trigger, 0.2)

    async def finish_load() -> None:
        await asyncio.sleep(0.05)
        await asyncio.to_thread(wait_db.run, f"UPDATE {table} SET state = 'done'")

    assert first_event(trigger, finish_load()) == {"status": "success", "first_cell": "done"}


def test_sql_trigger_without_success_fires_on_a_truthy_cell(wait_db: WaitDb) -> None:
    table = _loads_table(wait_db, None)
    trigger = SqlTrigger(conn_id="db", sql=f"SELECT count(*) FROM {table}", poke_interval=0.01)
    assert still_waiting(trigger, 0.2)
    wait_db.run(f"INSERT INTO {table} VALUES ('2024-01-31', 'done')")
    assert first_event(trigger) == {"status": "success", "first_cell": 1}


def test_sql_trigger_reports_failure_empty_answers_and_bad_sql(wait_db: WaitDb) -> None:
    table = _loads_table(wait_db, "failed")
    failing = SqlTrigger(
        conn_id="db", sql=f"SELECT state FROM {table}", failure=("==", "failed"), poke_interval=1
    )
    assert first_event(failing) == {
        "status": "error",
        "message": "SQL condition on 'db': SqlConditionError: failure criterion met: "
        "first cell == 'failed' (cell 'failed')",
    }
    empty = SqlTrigger(
        conn_id="db", sql=f"SELECT state FROM {table} WHERE day = 'never'", fail_on_empty=True
    )
    assert first_event(empty)["message"].endswith("the query returned no row (fail_on_empty=True)")
    broken = first_event(SqlTrigger(conn_id="db", sql="SELECT nope FROM nowhere_at_all"))
    assert broken["status"] == "error"
    assert "nowhere_at_all" in broken["message"]


def test_sql_trigger_checks_its_criteria() -> None:
    with pytest.raises(HeadwaterError, match="a function cannot be stored"):
        SqlTrigger(conn_id="db", sql="SELECT 1", success=lambda cell: cell)  # type: ignore[arg-type]
    with pytest.raises(HeadwaterError, match="operator one of ==, !=, >, >=, <, <=, in, not in"):
        SqlTrigger(conn_id="db", sql="SELECT 1", success=("~", "x"))
    with pytest.raises(HeadwaterError, match="the operand of 'in' must be a list"):
        SqlTrigger(conn_id="db", sql="SELECT 1", failure=("in", "failed"))
    with pytest.raises(HeadwaterError, match="sql must be a statement"):
        SqlTrigger(conn_id="db", sql=" ")


def test_event_triggers_are_the_watcher_triggers_and_an_airflow_file_defines_its_own(
    tmp_path: Path,
) -> None:
    """``BaseEventTrigger`` (``airflow.triggers.base``'s name too): the file triggers that
    consume what they saw are event triggers, the plain ``FileTrigger`` is not; a trigger an
    Airflow file defines on it round-trips through ``build_trigger`` and fires; ``hash``
    tells definitions apart."""
    import sys
    import textwrap

    from headwater.triggers import BaseEventTrigger, DirectoryFileDeleteTrigger, FileDeleteTrigger

    assert isinstance(FileDeleteTrigger(str(tmp_path / "f")), BaseEventTrigger)
    assert isinstance(
        DirectoryFileDeleteTrigger(directory=str(tmp_path), filename="f"), BaseEventTrigger
    )
    assert not isinstance(FileTrigger(str(tmp_path / "f")), BaseEventTrigger)

    (tmp_path / "my_event_triggers.py").write_text(
        textwrap.dedent(
            """
            import asyncio
            from airflow.triggers.base import BaseEventTrigger, TriggerEvent

            class CountdownTrigger(BaseEventTrigger):
                def __init__(self, name, ticks=1):
                    self.name, self.ticks = name, ticks

                def serialize(self):
                    return ("my_event_triggers.CountdownTrigger", {"name": self.name, "ticks": self.ticks})

                async def run(self):
                    for _ in range(self.ticks):
                        await asyncio.sleep(0)
                    yield TriggerEvent({"name": self.name})
            """
        )
    )
    from headwater.loading.airflow_imports import AirflowNamesFinder

    finder = AirflowNamesFinder()  # this test's own, taken out again below
    sys.meta_path.insert(0, finder)
    sys.path.insert(0, str(tmp_path))
    try:
        from my_event_triggers import CountdownTrigger  # type: ignore[import-not-found]

        trigger = CountdownTrigger("orders", ticks=2)
        assert isinstance(trigger, BaseEventTrigger)
        classpath, kwargs = trigger.serialize()
        rebuilt = build_trigger(classpath, json.loads(json.dumps(kwargs)))
        assert first_event(rebuilt) == {"name": "orders"}
        same = BaseEventTrigger.hash(classpath, {"ticks": 2, "name": "orders"})
        assert BaseEventTrigger.hash(classpath, kwargs) == same
        assert BaseEventTrigger.hash(classpath, {"name": "orders", "ticks": 3}) != same
    finally:
        sys.meta_path.remove(finder)
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == "airflow" or n.startswith("airflow.")]:
            del sys.modules[name]
        sys.modules.pop("my_event_triggers", None)
