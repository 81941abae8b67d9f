"""The trigger form: a run with params, from a form generated from the DAG's params."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
