"""The query parameters of a paged list: ``limit`` (1 to 1000, default 100) and
``offset`` (0 or more), as every list of the API takes them (``Page[...]`` answers), and
:func:`page_of` for a list short enough to be read whole and then cut."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, TypeVar

from fastapi import Query

from headwater.services._schema import Page
from headwater.services.dag_catalog import MAX_LIMIT

ItemT = TypeVar("ItemT")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="The most items to answer.")]
Offset = Annotated[int, Query(ge=0, description="How many matching items to skip.")]


def page_of(items: Sequence[ItemT], limit: int, offset: int) -> Page[ItemT]:
    """``items[offset:offset + limit]`` as a :class:`Page` (users, roles, tokens, pools and
    connections are few: they are read whole, then cut)."""
    return Page[ItemT](
        items=list(items[offset : offset + limit]), total=len(items), limit=limit, offset=offset
    )
