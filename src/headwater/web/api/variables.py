"""Variables: values tasks read as var.value.*."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["variables"])
