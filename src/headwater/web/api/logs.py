"""Task logs by try, read from an offset to follow a running attempt."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["logs"])
