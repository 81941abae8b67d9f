"""Log in and out with a session (the UI), and who am I."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["auth"])
