"""The event log: who did what, when."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["events"])
