"""The base of every request and response schema of the services.

Schemas are pydantic models, frozen once built. ``model_dump(mode="json")`` gives the JSON
that ``--output json`` prints and the REST API will answer, so both always agree. Two rules
keep that JSON as the CLI has always written it: times are ISO 8601 as Python writes them
(``2024-01-31T00:00:00+00:00``, not pydantic's ``Z``), and NaN or infinity stored in a conf
before inputs were checked stay floats (the JSON writers turn them into ``"NaN"``,
``"Infinity"``; pydantic would make them null).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer


class Schema(BaseModel):
    """A request or response of a service: typed, validated, immutable."""

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="strings")

    def to_json(self) -> dict[str, object]:
        """This object as JSON-ready data (dicts, lists, strings, numbers, None)."""
        return self.model_dump(mode="json", by_alias=True)


def _iso(value: datetime) -> str:
    return value.isoformat()


IsoDatetime = Annotated[datetime, PlainSerializer(_iso, return_type=str, when_used="json")]
"""A timezone-aware time, written in JSON as ``datetime.isoformat()`` writes it."""


ItemT = TypeVar("ItemT")


class Page(Schema, Generic[ItemT]):
    """One page of a longer list: ``items`` from ``offset`` on, at most ``limit`` of them,
    out of ``total`` matching (``Page[DagRunOut]``). The next page starts at
    ``offset + len(items)`` while that is below ``total``."""

    items: list[ItemT]
    total: int
    limit: int
    offset: int
