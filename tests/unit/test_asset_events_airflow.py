"""Asset events as Airflow code uses them: ``inlet_events`` look-ups, ``yield Metadata``,
``@asset`` parameters and ``AssetAccessControl``."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from headwater.authoring.asset_access import AssetAccessControl
from headwater.authoring.assets import Asset, AssetAlias, Metadata, asset
from headwater.exceptions import DagDefinitionError
from headwater.runtime.inlet_events import InletEventsAccessors
from headwater.runtime.outlet_events import OutletEventAccessors, drain_yielded
from headwater.store.memory import MemoryStore

NOW = datetime(2024, 1, 1, tzinfo=UTC)
SALES = Asset("s3://b/sales", name="sales")
DAILY = AssetAlias("daily")


def _store_with_events() -> MemoryStore:
    store = MemoryStore()
    store.create_asset_event(SALES.uri, timestamp=NOW, extra={"n": 1}, create=True)
    store.create_asset_event(SALES.uri, timestamp=NOW, extra={"n": 2}, create=True)
    return store


def test_inlet_events_by_asset_uri_index_and_name_oldest_first() -> None:
    events = InletEventsAccessors("t", [SALES, DAILY], _store_with_events())
    assert [e.extra["n"] for e in events[SALES]] == [1, 2]
    assert events["s3://b/sales"] == events[SALES] == events[0]
    assert [e.extra["n"] for e in events.for_asset(uri=SALES.uri)] == [1, 2]
    assert len(events.for_asset(name="sales")) == 2
    assert events.for_asset(name="other") == []
    assert list(events) == [SALES, DAILY] and len(events) == 2


def test_an_alias_without_events_is_empty_and_a_non_inlet_a_clear_key_error() -> None:
    events = InletEventsAccessors("t", [DAILY], MemoryStore())
    assert events[DAILY] == []
    assert events.for_asset_alias(name="never") == []
    with pytest.raises(KeyError, match="task 't': AssetAlias\\('x'\\) is not one of its inlets"):
        events[AssetAlias("x")]
    with pytest.raises(TypeError, match="needs name or uri"):
        events.for_asset()


def test_a_store_without_assets_gives_empty_lists() -> None:
    events = InletEventsAccessors("t", [SALES], None)
    assert events[SALES] == [] and events.for_asset(name="sales") == []


def _generator() -> Any:
    yield Metadata(SALES, {"rows": 3})
    yield 42
    yield Metadata(Asset("s3://b/day1"), {"d": 1}, alias=DAILY)
    return "done"


def test_drain_yielded_moves_metadata_to_outlet_events(caplog: pytest.LogCaptureFixture) -> None:
    accessors = OutletEventAccessors([SALES, DAILY])
    log = logging.getLogger("attempt")
    with caplog.at_level(logging.WARNING, "attempt"):
        result = drain_yielded(_generator(), {"outlet_events": accessors}, log)
    assert result == "done"
    assert accessors[SALES].extra == {"rows": 3}
    assert accessors[DAILY].asset_alias_events == [(Asset("s3://b/day1"), {"d": 1})]
    assert "Ignoring a yielded int" in caplog.text
    assert drain_yielded([1], {}, log) == [1]  # not a generator: unchanged


def test_asset_function_parameters_self_context_and_upstream() -> None:
    @asset(uri="s3://b/made", schedule=None)
    def made(self: Any, context: Any, sales: Any, ds: str = "x") -> None:
        return None

    task = made.dag.task_dict["made"]
    assert task.inlets == [SALES]  # the module's Asset named "sales"
    assert task.outlets == [made]

    @asset(schedule=None)
    def lone(unknown_asset: Any) -> None:
        return None

    assert lone.dag.task_dict["lone"].inlets == [Asset(name="unknown_asset")]


def test_asset_access_control_is_kept_and_checked() -> None:
    rules = AssetAccessControl(producer_teams=["ml"], allow_global=False)
    shared = Asset("s3://lake/out.csv", access_control=rules)
    assert shared.access_control == AssetAccessControl(["ml"], None, False)
    with pytest.raises(DagDefinitionError, match="access_control takes an AssetAccessControl"):
        Asset("s3://lake/x", access_control={"producer_teams": []})  # type: ignore[arg-type]
    with pytest.raises(DagDefinitionError, match="producer_teams takes team names"):
        AssetAccessControl(producer_teams=[1])  # type: ignore[list-item]
