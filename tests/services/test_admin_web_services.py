"""The services behind the API's and UI's admin pages (SQLite, and PostgreSQL under CI):
masked answers, a sent-back mask that keeps the secret, pages and filters."""

from __future__ import annotations

import pytest

from headwater.auth.principals import Principal
from headwater.engine.states import TaskInstanceState
from headwater.services.connections import (
    ConnectionChange,
    ConnectionCreate,
    add_connection,
    connection_types,
    update_connection,
)
from headwater.services.context import ServiceContext
from headwater.services.errors import ConflictError, InvalidRequestError, NotFoundError
from headwater.services.events import list_events
from headwater.services.pools import PoolChange, PoolIn, create_pool, get_pool, update_pool
from headwater.services.runs import TriggerRunRequest, trigger_run
from headwater.services.variables import (
    VariableChange,
    VariableIn,
    create_variable,
    describe_variable,
    page_variables,
    update_variable,
)


def test_pools_count_running_and_queued_slots_as_used(ctx: ServiceContext) -> None:
    created = create_pool(ctx, PoolIn(name="db", slots=3, description="the db"))
    assert (created.used, created.open) == (0, 3)
    with pytest.raises(ConflictError, match="pool 'db' already exists"):
        create_pool(ctx, PoolIn(name="db", slots=1))
    trigger_run(ctx, "flaky", TriggerRunRequest(run_id="r1"))
    tis = ctx.store.get_task_instances("flaky", "r1")
    tis[0].state, tis[0].pool = TaskInstanceState.RUNNING, "db"
    tis[1].state, tis[1].pool = TaskInstanceState.QUEUED, "db"
    ctx.store.save_task_instances(tis[:2])
    pool = get_pool(ctx, "db")
    assert (pool.used, pool.running, pool.queued, pool.open) == (2, 1, 1, 1)
    assert pool.to_json()["used"] == 2
    lowered = update_pool(ctx, "db", PoolChange(slots=1))
    assert (lowered.slots, lowered.open, lowered.description) == (1, -1, "the db")
    with pytest.raises(NotFoundError, match="no pool 'nope'"):
        update_pool(ctx, "nope", PoolChange(slots=1))


def test_variable_answers_are_masked_and_the_mask_keeps_the_value(ctx: ServiceContext) -> None:
    shown = create_variable(ctx, VariableIn(key="db_password", value="pw-123", description="d"))
    assert shown.value == "***"
    assert describe_variable(ctx, "db_password").value == "***"
    kept = update_variable(ctx, "db_password", VariableChange(value="***"))
    assert (kept.value, kept.description) == ("***", "d")
    assert ctx.store.get_variable("db_password") == "pw-123"
    update_variable(ctx, "db_password", VariableChange(value="pw-456"))
    assert ctx.store.get_variable("db_password") == "pw-456"
    # *** is a value like any other for a key that does not look secret.
    create_variable(ctx, VariableIn(key="stars", value="x"))
    assert update_variable(ctx, "stars", VariableChange(value="***")).value == "***"
    assert ctx.store.get_variable("stars") == "***"
    with pytest.raises(ConflictError, match="variable 'stars' already exists"):
        create_variable(ctx, VariableIn(key="stars", value="y"))
    with pytest.raises(NotFoundError, match="no variable 'gone'"):
        update_variable(ctx, "gone", VariableChange(value="y"))


def test_variables_page_and_search_keys_and_descriptions(ctx: ServiceContext) -> None:
    for i in range(5):
        create_variable(ctx, VariableIn(key=f"k{i}", value=f"secret-{i}", description=f"n{i}"))
    page = page_variables(ctx, limit=2, offset=2)
    assert ([v.key for v in page.items], page.total) == (["k2", "k3"], 5)
    assert [v.key for v in page_variables(ctx, search="N4").items] == ["k4"]
    assert page_variables(ctx, search="secret").total == 0


def test_a_connection_edit_keeps_the_secrets_it_was_shown_masked(ctx: ServiceContext) -> None:
    request = ConnectionCreate(
        conn_id="db",
        conn_type="postgres",
        host="h",
        password="pw",
        extra={"sslmode": "require", "private_key": "k-1", "nested": {"token": "t-1"}},
    )
    shown = add_connection(ctx, request)
    assert shown.password == "***"
    assert shown.extra == {"sslmode": "require", "private_key": "***", "nested": {"token": "***"}}
    changed = update_connection(
        ctx,
        "db",
        ConnectionChange(password="***", extra={**shown.extra, "sslmode": "disable"}, host=""),
    )
    assert changed.host is None and changed.extra["sslmode"] == "disable"
    stored = ctx.store.get_connection("db")
    assert stored is not None and stored.password == "pw"
    assert stored.extra == {"sslmode": "disable", "private_key": "k-1", "nested": {"token": "t-1"}}
    update_connection(ctx, "db", ConnectionChange(password="new-pw", port=6432))
    stored = ctx.store.get_connection("db")
    assert stored is not None and (stored.password, stored.port, stored.host) == (
        "new-pw",
        6432,
        None,
    )
    with pytest.raises(InvalidRequestError, match="unknown connection type 'nope'"):
        update_connection(ctx, "db", ConnectionChange(conn_type="nope"))
    with pytest.raises(NotFoundError, match="no connection 'gone'"):
        update_connection(ctx, "gone", ConnectionChange(host="x"))
    assert "postgres" in connection_types() and connection_types() == sorted(connection_types())


def test_events_newest_first_as_a_role_may_see_them(ctx: ServiceContext) -> None:
    now = ctx.now()
    ctx.store.record_event("trigger", at=now, dag_id="etl", detail="conf password=hunter2")
    ctx.store.record_event("clear", at=now, dag_id="flaky")
    everything = list_events(ctx)
    assert [e.kind for e in everything.items] == ["clear", "trigger"]
    assert everything.items[1].actor is None
    limited = Principal("t", role="team", level="op", dag_tags=frozenset({"team-a"}))
    assert list_events(ctx, principal=limited).total == 0
    assert list_events(ctx, dag_id="etl", kind="trigger").total == 1
    assert list_events(ctx, dag_id="etl", kind="clear").total == 0
