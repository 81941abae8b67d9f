"""The metric definitions, the docs page and the Grafana dashboard agree: every metric the
dashboard queries exists, every metric is on the dashboard and in docs/metrics.md with its
type and labels, and every name is headwater's own."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY as GLOBAL_REGISTRY

from headwater.metrics.definitions import REGISTRY, metric_families

REPO = Path(__file__).parents[2]
DASHBOARD = REPO / "deploy" / "grafana" / "headwater.json"
DOCS = REPO / "docs" / "metrics.md"

_HISTOGRAM_SERIES = re.compile(r"_(bucket|sum|count)$")


def _expressions(node: object) -> list[str]:
    """Every query (``expr``) and variable query of the dashboard."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, child in node.items():
            if key in ("expr", "definition") and isinstance(child, str):
                found.append(child)
            else:
                found += _expressions(child)
    elif isinstance(node, list):
        for child in node:
            found += _expressions(child)
    return found


def _family_of(series: str) -> str:
    """``headwater_x_seconds_bucket`` -> ``headwater_x_seconds`` for a histogram."""
    families = metric_families()
    base = _HISTOGRAM_SERIES.sub("", series)
    if base != series and families.get(base, ("",))[0] == "histogram":
        return base
    return series


def _queried() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    names = set()
    for expression in _expressions(dashboard):
        names |= {_family_of(name) for name in re.findall(r"\bheadwater_[a-z_]+", expression)}
    return names


def test_every_metric_the_dashboard_queries_is_defined() -> None:
    assert _queried() <= set(metric_families()), _queried() - set(metric_families())


def test_every_metric_is_on_the_dashboard() -> None:
    assert set(metric_families()) <= _queried(), set(metric_families()) - _queried()


def test_the_dashboard_picks_its_data_source_and_every_panel_uses_it() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]


def test_every_metric_is_in_the_docs_with_its_type_and_labels() -> None:
    rows = {}
    for line in DOCS.read_text().splitlines():
        match = re.match(r"\| `(headwater_[a-z_]+)` \| (\w+) \|([^|]*)\|", line)
        if match:
            labels = tuple(re.findall(r"`(\w+)`", match.group(3)))
            rows[match.group(1)] = (match.group(2), labels)
    assert rows == {name: (kind, labels) for name, (kind, labels) in metric_families().items()}


def test_names_are_headwaters_and_live_in_its_own_registry() -> None:
    for name in metric_families():
        assert name.startswith("headwater_"), name
    registered = {family.name for family in REGISTRY.collect()}
    assert "headwater_task_duration_seconds" in registered
    in_global = {f.name for f in GLOBAL_REGISTRY.collect()}
    assert not {name for name in in_global if name.startswith("headwater_")}
