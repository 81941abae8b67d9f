"""Pools, variables and connections through the services."""

from __future__ import annotations

import pytest

from headwater.engine.states import TaskInstanceState
from headwater.services.connections import (
    ConnectionIn,
    ConnectionOut,
    add_connection,
    connection_from_uri,
    delete_connection,
    list_connections,
)
from headwater.services.context import ServiceContext
from headwater.services.errors import ConflictError, InvalidRequestError, NotFoundError
from headwater.services.pools import PoolOut, PoolUsage, delete_pool, list_pools, set_pool
from headwater.services.runs import TriggerRunRequest, trigger_run
from headwater.services.variables import (
    VariableOut,
    delete_variable,
    get_variable,
    list_variables,
    set_variable,
)


def test_pools_with_the_slots_in_use(ctx: ServiceContext) -> None:
    assert set_pool(ctx, "warehouse", 4, "reports") == PoolOut(
        name="warehouse", slots=4, description="reports"
    )
    assert set_pool(ctx, "warehouse", 2).description == "reports"  # None keeps it
    trigger_run(ctx, "flaky", TriggerRunRequest(run_id="r1"))
    start = ctx.store.get_task_instance("flaky", "r1", "start")
    assert start is not None
    start.state, start.pool = TaskInstanceState.QUEUED, "warehouse"
    ctx.store.save_task_instances([start])
    pools = {p.name: p for p in list_pools(ctx)}
    assert pools["warehouse"] == PoolUsage(
        name="warehouse", slots=2, running=0, queued=1, open=1, description="reports"
    )
    assert pools["default_pool"].open == pools["default_pool"].slots
    assert delete_pool(ctx, "warehouse").to_json() == {"name": "warehouse", "deleted": True}


def test_pool_refusals_name_the_pool(ctx: ServiceContext) -> None:
    with pytest.raises(NotFoundError, match="no pool 'gone'"):
        delete_pool(ctx, "gone")
    with pytest.raises(InvalidRequestError, match="pool 'p': slots must be a whole number"):
        set_pool(ctx, "p", -1)
    with pytest.raises(InvalidRequestError, match="pool name 'a b' is not valid"):
        set_pool(ctx, "a b", 1)


def test_variables(ctx: ServiceContext) -> None:
    assert set_variable(ctx, "region", "eu", "where") == VariableOut(
        key="region", value="eu", description="where"
    )
    assert get_variable(ctx, "region").to_json() == {"key": "region", "value": "eu"}
    assert [v.key for v in list_variables(ctx)] == ["region"]
    assert delete_variable(ctx, "region").deleted
    with pytest.raises(NotFoundError, match="no variable 'region'"):
        get_variable(ctx, "region")
    with pytest.raises(NotFoundError, match="no variable 'region'"):
        delete_variable(ctx, "region")
    with pytest.raises(InvalidRequestError, match="variable key 'a/b' is not valid"):
        set_variable(ctx, "a/b", "x")


def test_connections_never_show_a_password(ctx: ServiceContext) -> None:
    request = connection_from_uri("warehouse", "postgresql://etl:s3cret@db:5432/reports")
    assert (request.schema_, request.password) == ("reports", "s3cret")
    added = add_connection(ctx, request)
    assert isinstance(added, ConnectionOut)
    assert added.to_json() == {
        "conn_id": "warehouse",
        "conn_type": "postgres",
        "description": None,
        "host": "db",
        "port": 5432,
        "schema": "reports",
        "login": "etl",
        "has_password": True,
        "password": "***",
        "extra": {},
    }
    assert "s3cret" not in repr(request)
    api = ConnectionIn(conn_id="api", conn_type="http", extra={"api_token": "t", "v": 2})
    add_connection(ctx, api)
    listed = {c.conn_id: c for c in list_connections(ctx)}
    assert listed["api"].extra == {"api_token": "***", "v": 2}
    assert not listed["api"].has_password
    assert ctx.store.get_connection("warehouse").password == "s3cret"  # type: ignore[union-attr]
    assert delete_connection(ctx, "api").to_json() == {"conn_id": "api", "deleted": True}


def test_connection_refusals_name_the_connection(ctx: ServiceContext) -> None:
    add_connection(ctx, ConnectionIn(conn_id="c", conn_type="http"))
    with pytest.raises(ConflictError, match="connection 'c' already exists"):
        add_connection(ctx, ConnectionIn(conn_id="c", conn_type="http"))
    with pytest.raises(NotFoundError, match="no connection 'gone'"):
        delete_connection(ctx, "gone")
    with pytest.raises(InvalidRequestError, match="connection 'u': the URI has no type"):
        connection_from_uri("u", "nohost")
    with pytest.raises(InvalidRequestError, match="connection 'p': port 70000 is not 1-65535"):
        add_connection(ctx, ConnectionIn(conn_id="p", conn_type="http", port=70000))
