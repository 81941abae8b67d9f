"""Geometry of the views' SVG charts: durations for people, round axis steps, the Gantt's
bars on one time axis (queued part before the running part), the durations' bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater.services.dag_views import RunSummary
from headwater.services.run_gantt import GanttAttempt, GanttRow, RunGantt
from headwater.web.ui.charts import (
    durations_chart,
    format_seconds,
    gantt_chart,
    nice_step,
    svg_path,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (2.5, "2.5s"), (42, "42s"), (185, "3m 05s"), (7800, "2h 10m"), (-3, "0s")],
)
def test_durations_read_as_people_write_them(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


@pytest.mark.parametrize(("span", "step"), [(10, 2), (95, 20), (3600, 1000), (0, 1), (0.3, 0.1)])
def test_axis_steps_are_round(span: float, step: float) -> None:
    assert nice_step(span) == pytest.approx(step)


def test_an_edge_path_starts_and_ends_at_its_points() -> None:
    path = svg_path([(0, 0), (50, 20), (100, 20)])
    assert path.startswith("M0.0,0.0 C25.0,0.0 25.0,20.0 50.0,20.0")
    assert path.endswith("100.0,20.0")
    assert svg_path([]) == ""


def _attempt(
    try_number: int, start: int, end: int | None, queued: int | None = None
) -> GanttAttempt:
    return GanttAttempt(
        try_number=try_number,
        state="success" if end is not None else "running",
        start_date=T0 + timedelta(seconds=start),
        end_date=T0 + timedelta(seconds=end) if end is not None else None,
        queued_at=T0 + timedelta(seconds=queued) if queued is not None else None,
    )


def test_gantt_bars_share_one_time_axis() -> None:
    gantt = RunGantt(
        dag_id="d",
        run_id="r",
        state="running",
        start=T0,
        end=T0 + timedelta(seconds=100),
        rows=[
            GanttRow(
                task_id="a",
                map_index=-1,
                label="a",
                state="success",
                attempts=[_attempt(1, 10, 50, queued=0)],
            ),
            GanttRow(
                task_id="b",
                map_index=2,
                label="b[2]",
                state="running",
                attempts=[_attempt(1, 50, None)],
            ),
        ],
    )
    chart = gantt_chart(
        gantt,
        T0 + timedelta(seconds=100),
        lambda row, attempt: f"/t/{row.task_id}?map_index={row.map_index}&try={attempt.try_number}",
        width=1000,
        label_width=200,
    )
    plot = 1000 - 200 - 16
    queued, ran, running = chart.bars
    assert (queued.part, queued.x, queued.width) == ("queued", 200, pytest.approx(plot * 0.1))
    assert ran.x == pytest.approx(200 + plot * 0.1) and ran.width == pytest.approx(plot * 0.4)
    assert running.x + running.width == pytest.approx(200 + plot)  # runs until now
    assert running.href == "/t/b?map_index=2&try=1"
    assert ran.title == "a · try 1 · success · 40s"
    assert [label for _, label, _ in chart.rows] == ["a", "b[2]"]
    assert chart.ticks[0].label == "+0s" and chart.ticks[-1].position <= 200 + plot + 0.01


def _run(run_id: str, day: int, duration: float | None, state: str = "success") -> RunSummary:
    start = T0 + timedelta(days=day)
    return RunSummary(
        run_id=run_id,
        logical_date=start,
        state=state,
        run_type="scheduled",
        start_date=start,
        end_date=start + timedelta(seconds=duration) if duration is not None else None,
        duration=duration,
    )


def test_durations_bars_grow_with_the_duration_and_skip_unfinished_runs() -> None:
    runs = [_run("a", 0, 30), _run("b", 1, 60, "failed"), _run("c", 2, None, "running")]
    chart = durations_chart(runs, lambda run: f"/d?run_id={run.run_id}", width=600, height=300)
    assert [b.state for b in chart.bars] == ["success", "failed"]
    short, long = chart.bars
    assert long.height == pytest.approx(2 * short.height)
    assert short.y + short.height == pytest.approx(chart.bottom)
    assert short.x < long.x and long.href == "/d?run_id=b"
    assert [t.label for t in chart.y_ticks][:2] == ["0s", "20s"]
    assert [t.label for t in chart.x_ticks] == ["2024-01-01", "2024-01-02", "2024-01-03"]
