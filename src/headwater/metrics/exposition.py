"""Serving the metrics: the registry an endpoint exposes, the page it answers, and the
scheduler's own small HTTP server.

An endpoint serves :data:`~headwater.metrics.definitions.REGISTRY` (what this process
measured) plus the store's counts (:class:`~headwater.metrics.store_counts.StoreCounts`),
through :func:`endpoint_registry`. Each process serves its own: in ``standalone`` the API
server's ``/metrics`` therefore shows the scheduler's metrics too, since both run in one
process and share the registry.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from headwater.metrics.definitions import REGISTRY
from headwater.metrics.store_counts import StoreCounts

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from prometheus_client.core import Metric

    from headwater.store.ports import Store

log = logging.getLogger(__name__)


class _ProcessMetrics(Collector):
    """What this process measured (headwater's registry), inside an endpoint's registry."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def endpoint_registry(store: Store) -> CollectorRegistry:
    """The registry one endpoint serves: this process's metrics and ``store``'s counts."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProcessMetrics())
    registry.register(StoreCounts(store))
    return registry


@dataclass(frozen=True)
class MetricsPage:
    body: bytes
    content_type: str


def render(registry: CollectorRegistry, accept: str | None) -> MetricsPage:
    """The page for a scrape: OpenMetrics when the scraper asks for it (Prometheus does),
    else Prometheus' text format (content type from prometheus_client)."""
    encoder, content_type = choose_encoder(accept or "")
    return MetricsPage(encoder(registry), content_type)


@dataclass
class MetricsServer:
    """prometheus_client's HTTP server in a daemon thread; :meth:`stop` ends it."""

    host: str
    port: int
    """The port it listens on (the one chosen when asked for port 0)."""
    server: WSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_metrics(store: Store, host: str, port: int) -> MetricsServer:
    """Serve ``/metrics`` (this process's metrics and ``store``'s counts) on ``host:port``
    from a daemon thread; port 0 picks a free one. Raises OSError naming the address when
    it cannot listen there."""
    try:
        server, thread = start_http_server(port, host, registry=endpoint_registry(store))
    except OSError as exc:
        raise OSError(exc.errno, f"cannot serve metrics on {host}:{port}: {exc.strerror}") from exc
    bound = int(server.server_port)
    log.info("Serving Prometheus metrics at http://%s:%d/metrics", host, bound)
    return MetricsServer(host, bound, server, thread)
