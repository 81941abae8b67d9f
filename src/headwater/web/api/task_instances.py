"""Task instances and their tries: detail, rendered fields, XComs, clear, mark."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["task instances"])
