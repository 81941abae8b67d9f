"""The home page: the DAG list (recent runs, next run, schedule, tags, search, pause) and
the import errors."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
