"""DAG runs: list, detail, clear, mark, delete."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["runs"])
