"""A task attempt's page (metadata, live log, rendered fields, XComs, earlier tries) and
the action forms (trigger, clear, mark, backfill)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
