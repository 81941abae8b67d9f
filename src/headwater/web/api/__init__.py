"""The REST API, ``/api/v1``: one module of routes per resource.

Routes authenticate with :func:`headwater.web.security.current_principal`, check what the
principal may do with the checks of :mod:`headwater.web.security`, call
:mod:`headwater.services` and answer its schemas (pydantic models, never store records).
Values shown pass through the secrets masker (:mod:`headwater.masking`).
"""

from __future__ import annotations

from fastapi import APIRouter

from headwater.web.api import (
    assets,
    auth,
    backfills,
    connections,
    dag_views,
    dags,
    deadlines,
    events,
    import_errors,
    logs,
    monitor,
    pools,
    roles,
    runs,
    task_instances,
    tokens,
    users,
    variables,
)

api_router = APIRouter()
api_router.include_router(auth.router)
api_router.include_router(users.router)
api_router.include_router(roles.router)
api_router.include_router(tokens.router)
api_router.include_router(dags.router)
api_router.include_router(dag_views.router)
api_router.include_router(runs.router)
api_router.include_router(deadlines.router)
api_router.include_router(task_instances.router)
api_router.include_router(logs.router)
api_router.include_router(backfills.router)
api_router.include_router(pools.router)
api_router.include_router(variables.router)
api_router.include_router(connections.router)
api_router.include_router(import_errors.router)
api_router.include_router(events.router)
api_router.include_router(monitor.router)
api_router.include_router(assets.router)
