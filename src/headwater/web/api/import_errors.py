"""DAG files that failed to import."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["import errors"])
