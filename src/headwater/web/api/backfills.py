"""Backfills: create (or dry-run), list, cancel."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["backfills"])
