"""How a DAG uses assets, from its serialized document, stored when the DAG processor
stores the DAG: the assets it is scheduled on, and those its tasks produce and read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from headwater.authoring.asset_refs import AssetNameRef, AssetUriRef
from headwater.authoring.assets import Asset, condition_from_json, reference_from_json
from headwater.store.assets import (
    INLET,
    OUTLET,
    SCHEDULE,
    SCHEDULE_ALIAS,
    SCHEDULE_NAME,
    AssetReference,
    AssetSpec,
    AssetStore,
)


def _spec(asset: Asset) -> AssetSpec:
    return AssetSpec(asset.uri, asset.name, asset.group, dict(asset.extra))


def asset_references(
    dag_id: str, spec: Mapping[str, Any]
) -> tuple[list[AssetSpec], list[AssetReference]]:
    """The assets the DAG document ``spec`` names, and its references to them."""
    assets: dict[str, AssetSpec] = {}
    refs: list[AssetReference] = []
    condition = spec.get("asset_condition")
    if condition is not None:
        parsed = condition_from_json(condition)
        for asset in parsed.iter_assets():
            assets.setdefault(asset.uri, _spec(asset))
            refs.append(AssetReference(dag_id, asset.uri, SCHEDULE))
        for alias in parsed.iter_aliases():
            refs.append(AssetReference(dag_id, alias.name, SCHEDULE_ALIAS))
        for ref in parsed.iter_refs():  # Asset.ref(name=...) / Asset.ref(uri=...)
            if isinstance(ref, AssetNameRef):
                refs.append(AssetReference(dag_id, ref.name, SCHEDULE_NAME))
            elif isinstance(ref, AssetUriRef):
                refs.append(AssetReference(dag_id, ref.uri, SCHEDULE))
    for task in spec.get("tasks") or []:
        for kind, key in ((OUTLET, "outlets"), (INLET, "inlets")):
            for item in task.get(key) or []:
                ref = reference_from_json(item)
                if isinstance(ref, Asset):
                    assets.setdefault(ref.uri, _spec(ref))
                    refs.append(AssetReference(dag_id, ref.uri, kind, task["task_id"]))
    return list(assets.values()), refs


def store_asset_references(
    store: object, dag_id: str, spec: Mapping[str, Any], now: datetime
) -> None:
    """Replace the stored references of ``dag_id`` by those of its document ``spec`` (on a
    store with the asset port: every real one)."""
    if not isinstance(store, AssetStore):
        return
    assets, refs = asset_references(dag_id, spec)
    store.set_dag_asset_references(dag_id, assets, refs, now)


def schedule_text(time_schedule: str | None, spec: Mapping[str, Any]) -> str | None:
    """What ``dags list`` shows as the schedule of DAG document ``spec``: its time schedule,
    ``assets`` for a DAG scheduled on assets only, ``<time schedule> or assets`` for both."""
    if spec.get("asset_condition") is None:
        return time_schedule
    return "assets" if time_schedule is None else f"{time_schedule} or assets"
