"""Geometry of the server-made SVG charts (a run's Gantt, run durations) and of the graph's
edges: pure functions from the views' data to boxes, paths and axis ticks that the
templates draw. No markup is built here: templates escape every text they show.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from headwater.services.dag_views import RunSummary
from headwater.services.run_gantt import GanttAttempt, GanttRow, RunGantt


@dataclass(frozen=True)
class Tick:
    """A mark on an axis at ``position`` (pixels) with its ``label``."""

    position: float
    label: str


@dataclass(frozen=True)
class Bar:
    """A rectangle of a chart, with the state that colours it and its text alternative."""

    x: float
    y: float
    width: float
    height: float
    state: str
    title: str
    href: str | None = None
    part: str = "run"
    """``queued`` (the lighter wait before an attempt starts) or ``run``."""


@dataclass(frozen=True)
class GanttChart:
    width: float
    height: float
    label_width: float
    rows: list[tuple[float, str, str]]
    """``(y, label, title)`` of each row's label."""
    bars: list[Bar]
    ticks: list[Tick]
    axis_y: float


@dataclass(frozen=True)
class DurationsChart:
    width: float
    height: float
    left: float
    bottom: float
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]


def format_seconds(seconds: float) -> str:
    """``42s``, ``3m 05s``, ``2h 10m``: a duration for people."""
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds >= 10 or seconds == int(seconds) else f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def nice_step(span: float, count: int = 5) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about ``count`` ticks."""
    if span <= 0:
        return 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def svg_path(points: list[tuple[float, float]]) -> str:
    """An SVG path through ``points``: straight ends, smooth bends (a cubic curve between
    each two points, leaving and arriving horizontally)."""
    if not points:
        return ""
    x0, y0 = points[0]
    parts = [f"M{x0:.1f},{y0:.1f}"]
    for (ax, ay), (bx, by) in itertools.pairwise(points):
        mid = (ax + bx) / 2
        parts.append(f"C{mid:.1f},{ay:.1f} {mid:.1f},{by:.1f} {bx:.1f},{by:.1f}")
    return " ".join(parts)


def gantt_chart(
    gantt: RunGantt,
    now: datetime,
    attempt_href: Callable[[GanttRow, GanttAttempt], str],
    *,
    width: float = 1160.0,
    label_width: float = 220.0,
    row_height: float = 24.0,
) -> GanttChart:
    """Bars of each attempt of ``gantt`` on one time axis: the queued part, then the
    running part up to its end (``now`` while it runs); ``attempt_href`` gives each bar's
    link."""
    top = 8.0
    plot = width - label_width - 16.0
    start = gantt.start or now
    end = max(gantt.end or now, start)
    span = max((end - start).total_seconds(), 1.0)

    def x(at: datetime) -> float:
        return label_width + (at - start).total_seconds() / span * plot

    rows, bars = [], []
    for i, row in enumerate(gantt.rows):
        y = top + i * row_height
        rows.append((y + row_height / 2, row.label, f"{row.label} · {row.state}"))
        for attempt in row.attempts:
            url = attempt_href(row, attempt)
            began, ended = attempt.start_date, attempt.end_date or now
            if attempt.queued_at is not None and attempt.queued_at < began:
                bars.append(
                    Bar(
                        x(attempt.queued_at),
                        y + 4,
                        max(x(began) - x(attempt.queued_at), 1.0),
                        row_height - 8,
                        attempt.state,
                        f"{row.label} · try {attempt.try_number} · queued "
                        f"{format_seconds((began - attempt.queued_at).total_seconds())}",
                        url,
                        "queued",
                    )
                )
            took = format_seconds((ended - began).total_seconds())
            bars.append(
                Bar(
                    x(began),
                    y + 4,
                    max(x(ended) - x(began), 2.0),
                    row_height - 8,
                    attempt.state,
                    f"{row.label} · try {attempt.try_number} · {attempt.state} · {took}",
                    url,
                )
            )
    axis_y = top + len(gantt.rows) * row_height + 4
    step = nice_step(span)
    ticks = [
        Tick(label_width + k * step / span * plot, f"+{format_seconds(k * step)}")
        for k in range(int(span // step) + 1)
    ]
    return GanttChart(width, axis_y + 24, label_width, rows, bars, ticks, axis_y)


def durations_chart(
    runs: list[RunSummary],
    run_href: Callable[[RunSummary], str],
    *,
    width: float = 1160.0,
    height: float = 320.0,
    left: float = 64.0,
    bottom: float = 40.0,
) -> DurationsChart:
    """A bar per run (oldest left) as tall as its duration; a run not ended has none.
    ``run_href`` gives each bar's link."""
    top, right = 12.0, 12.0
    plot_w, plot_h = width - left - right, height - top - bottom
    longest = max((r.duration or 0.0 for r in runs), default=0.0)
    step = nice_step(longest or 1.0, 4)
    ceiling = max(step * math.ceil((longest or 1.0) / step), step)
    slot = plot_w / max(len(runs), 1)
    bars = []
    for i, run in enumerate(runs):
        if run.duration is None:
            continue
        h = max(run.duration / ceiling * plot_h, 1.0)
        bars.append(
            Bar(
                left + i * slot + slot * 0.15,
                top + plot_h - h,
                max(slot * 0.7, 1.0),
                h,
                run.state,
                f"{run.run_id} · {run.state} · {format_seconds(run.duration)}",
                run_href(run),
            )
        )
    y_ticks = [
        Tick(top + plot_h - k * step / ceiling * plot_h, format_seconds(k * step))
        for k in range(round(ceiling / step) + 1)
    ]
    every = max(1, math.ceil(len(runs) / 8))
    x_ticks = [
        Tick(left + i * slot + slot / 2, run.logical_date.strftime("%Y-%m-%d"))
        for i, run in enumerate(runs)
        if i % every == 0
    ]
    return DurationsChart(width, height, left, top + plot_h, bars, y_ticks, x_ticks)
