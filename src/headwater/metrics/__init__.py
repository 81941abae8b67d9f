"""Prometheus metrics: what headwater measures and how ``/metrics`` serves it.

* :mod:`~headwater.metrics.definitions`: every metric (names, types, help, labels) and
  headwater's registry;
* :mod:`~headwater.metrics.store_counts`: the counts read from the database at scrape time;
* :mod:`~headwater.metrics.scheduler_observations`: what the scheduler records as attempts
  start and end;
* :mod:`~headwater.metrics.exposition`: the registry an endpoint serves, its page, and the
  scheduler's HTTP server.

Placed above the store (it reads counts through the store's metrics port) and below the
scheduler, the DAG processor and the web app, which record and serve them. See
docs/metrics.md.
"""
