"""Roles: built-in levels and roles limited to DAG tags."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["roles"])
