"""The Prometheus page of the API server (``GET /metrics``): what this process measured
and the counts of the metadata database, read when it is scraped (docs/metrics.md).

One registry per opened store is kept for the life of the store (:func:`scrape_metrics`
builds it on the first scrape), so the notifier-failure counter counts each event once.
Example::

    page = scrape_metrics(ctx, accept="text/plain")
    page.content_type, page.body[:40]
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from headwater.metrics.exposition import MetricsPage, endpoint_registry, render
from headwater.operations.errors import NotFoundError

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from headwater.services.context import ServiceContext

__all__ = ["MetricsPage", "scrape_metrics"]

_registries: weakref.WeakKeyDictionary[object, CollectorRegistry] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def scrape_metrics(ctx: ServiceContext, accept: str | None = None) -> MetricsPage:
    """The metrics page in the format ``accept`` asks for (OpenMetrics or Prometheus text).
    Raises NotFoundError when ``[metrics] api_endpoint`` is off."""
    if not ctx.settings.metrics.api_endpoint:
        raise NotFoundError("metrics are not served here: [metrics] api_endpoint is false")
    with _lock:
        registry = _registries.get(ctx.store)
        if registry is None:
            registry = _registries[ctx.store] = endpoint_registry(ctx.store)
    return render(registry, accept)
