"""Pools: limits on concurrent task instances."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["pools"])
