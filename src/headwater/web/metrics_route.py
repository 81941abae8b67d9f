"""``GET /metrics``: Prometheus metrics, without login (as Prometheus scrapes), served when
``[metrics] api_endpoint`` is true (404 otherwise). Outside ``/api/v1`` and the API's spec:
it is for scrapers, in their format (docs/metrics.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from headwater.services.metrics import scrape_metrics
from headwater.web.context import Ctx

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(ctx: Ctx, request: Request) -> Response:
    """This process's metrics and the database's counts, read now."""
    page = scrape_metrics(ctx, request.headers.get("accept"))
    return Response(content=page.body, media_type=page.content_type)
