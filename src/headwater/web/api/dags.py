"""DAGs: list, detail and structure, pause, trigger, source."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["dags"])
