"""Connections: secret fields are never returned in clear."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["connections"])
