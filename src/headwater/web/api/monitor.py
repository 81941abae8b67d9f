"""Health (scheduler heartbeat, database) and version."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["monitor"])
