"""A DAG's views as data: its grid (runs x tasks), graph (layout and states), a run's Gantt."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["dag views"])
