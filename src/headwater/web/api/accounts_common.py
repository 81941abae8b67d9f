"""What the account routes (auth, users, roles, tokens) share: paging a list, the query
parameters ``limit`` and ``offset``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, TypeVar

from fastapi import Query

from headwater.services._schema import Page

ItemT = TypeVar("ItemT")

Limit = Annotated[int, Query(ge=1, le=1000, description="Most items to answer.")]
Offset = Annotated[int, Query(ge=0, description="Items to skip.")]


def page_of(items: Sequence[ItemT], limit: int, offset: int) -> Page[ItemT]:
    """``items[offset:offset + limit]`` as a :class:`Page` (the lists here are short: users,
    roles and tokens are read whole, then cut)."""
    return Page[ItemT](
        items=list(items[offset : offset + limit]), total=len(items), limit=limit, offset=offset
    )
