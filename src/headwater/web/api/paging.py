"""The query parameters of a paged list: ``limit`` (1 to 1000, default 100) and
``offset`` (0 or more), as every list of the API takes them (``Page[...]`` answers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

MAX_LIMIT = 1000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="The most items to answer.")]
Offset = Annotated[int, Query(ge=0, description="How many matching items to skip.")]
