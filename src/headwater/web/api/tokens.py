"""Bearer API tokens: create (shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["tokens"])
