"""The backfill form, with a dry-run preview, and the list of backfills."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
