"""A DAG's pages: grid, graph, Gantt of a run, code, run durations, docs."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
