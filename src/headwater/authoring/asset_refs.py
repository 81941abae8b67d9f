"""Assets named by reference in a schedule (Airflow 3's ``Asset.ref``): by name, for an asset
another DAG defines (``Asset.ref(name="orders")``), or by URI.

A name reference is met by the events of whichever asset bears that name when the events
happen: the store queues them for the DAGs that name it, and the scheduler gives conditions
the names of the updated assets (:func:`name_token`) beside their URIs. A URI reference is
the asset of that URI, without defining it (its name and extra stay its producer's).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from headwater.authoring.assets import MAX_URI_LENGTH, Asset, AssetCondition, _check_uri
from headwater.exceptions import DagDefinitionError

__all__ = ["AssetNameRef", "AssetUriRef", "asset_ref", "name_token"]


def name_token(name: str) -> str:
    """How an updated asset's name is among the URIs a condition is evaluated on (a URI never
    holds a space, so no URI reads like this)."""
    return f"name {name}"


class AssetRef(AssetCondition):
    """An asset referred to, not defined: :class:`AssetNameRef` or :class:`AssetUriRef`."""

    def iter_assets(self) -> Iterator[Asset]:
        return iter(())

    def iter_refs(self) -> Iterator[AssetRef]:
        yield self


class AssetNameRef(AssetRef):
    """``Asset.ref(name=...)``: the asset that bears ``name``."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_URI_LENGTH:
            raise DagDefinitionError(
                f"Asset.ref(name=...) takes a non-empty name of at most {MAX_URI_LENGTH} "
                f"characters, got {name!r:.80}"
            )
        self.name = name

    def evaluate(self, updated: set[str]) -> bool:
        return name_token(self.name) in updated

    def to_json(self) -> dict[str, Any]:
        return {"name_ref": {"name": self.name}}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetNameRef) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("name_ref", self.name))

    def __repr__(self) -> str:
        return f"Asset.ref(name={self.name!r})"


class AssetUriRef(AssetRef):
    """``Asset.ref(uri=...)``: the asset of ``uri``."""

    def __init__(self, uri: str) -> None:
        self.uri = _check_uri(uri)

    def evaluate(self, updated: set[str]) -> bool:
        return self.uri in updated

    def to_json(self) -> dict[str, Any]:
        return {"uri_ref": {"uri": self.uri}}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetUriRef) and other.uri == self.uri

    def __hash__(self) -> int:
        return hash(("uri_ref", self.uri))

    def __repr__(self) -> str:
        return f"Asset.ref(uri={self.uri!r})"


def asset_ref(*, name: str | None = None, uri: str | None = None) -> AssetRef:
    """``Asset.ref(name=...)`` or ``Asset.ref(uri=...)``: exactly one of them."""
    if (name is None) == (uri is None):
        raise DagDefinitionError("Asset.ref() takes exactly one of name= and uri=")
    return AssetNameRef(name) if name is not None else AssetUriRef(uri)  # type: ignore[arg-type]


def ref_from_json(kind: str, value: Any) -> AssetRef:
    """The reference :meth:`AssetRef.to_json` wrote (``kind`` is its key)."""
    return AssetNameRef(value["name"]) if kind == "name_ref" else AssetUriRef(value["uri"])
