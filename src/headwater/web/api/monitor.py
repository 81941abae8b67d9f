"""Health and version: public (no login), for load balancers, probes and people.

``GET /health`` answers 503 when the metadata database cannot be used (nothing else would
work), else 200 with each component's status: a stale scheduler is reported, not an error
of the API server itself.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from headwater.services.monitor import Health, Version, get_health, get_version
from headwater.web.context import Ctx

router = APIRouter(tags=["monitor"])


@router.get(
    "/health",
    summary="Health of the database, scheduler and DAG processor",
    responses={503: {"model": Health, "description": "database unusable"}},
)
def health(ctx: Ctx, response: Response) -> Health:
    """The database (reachable or not), and the scheduler's and DAG processor's latest
    heartbeats, their ages and whether they are within ``task_heartbeat_timeout_s``."""
    answer = get_health(ctx)
    if answer.metadatabase.status != "healthy":
        response.status_code = 503
    return answer


@router.get("/version", summary="Version")
def version() -> Version:
    """The headwater version, and the git commit of a source checkout."""
    return get_version()
