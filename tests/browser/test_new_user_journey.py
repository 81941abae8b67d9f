"""What a new user does first, end to end: `headwater standalone` (a real process with its
scheduler, workers and web server) prints the UI's URL and an admin password; in real
Chromium they log in with it, see their DAG, trigger it from the params form and watch it
run live in the grid, read a task's log, open the graph and the Gantt chart, then fix a
failing task and clear it, and watch it succeed."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from command_processes import kill_session

DAG_FILE = """
from datetime import UTC, datetime

from headwater import DAG, Param
from headwater.operators import BashOperator

with DAG(
    "journey",
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    schedule=None,
    tags=["demo"],
    doc_md="A first pipeline.",
    params={"greeting": Param("hello", type="string", description="What to say")},
):
    say = BashOperator(task_id="say", bash_command="echo 'greeting: {{ params.greeting }}'")
    needs_flag = BashOperator(task_id="needs_flag", bash_command="test -f {flag}")
    say >> needs_flag
"""

WAIT_S = 60.0


class Standalone:
    """A `headwater standalone` process and what it printed."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str) -> re.Match[str]:
        seen = []
        while True:
            try:
                line = self.lines.get(timeout=WAIT_S)
            except queue.Empty:
                raise AssertionError(f"{pattern!r} not printed; printed: {''.join(seen)}") from None
            seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found


@pytest.fixture
def standalone(tmp_path: Path, headwater_home: Path) -> Iterator[Standalone]:
    dags = tmp_path / "dags"
    dags.mkdir()
    flag = tmp_path / "flag"
    (dags / "journey.py").write_text(textwrap.dedent(DAG_FILE).replace("{flag}", str(flag)))
    env = {**os.environ, "HEADWATER_DAGS_FOLDER": str(dags), "COLUMNS": "200"}
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater", "standalone"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    standalone = Standalone(process)
    try:
        yield standalone
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            kill_session(process.pid)  # its workers and DAG processor too, whatever happened
            process.wait()
        standalone.reader.join(timeout=10)  # it reads to the end of the output, then stops
        assert process.stdout is not None
        process.stdout.close()


def test_a_new_user_logs_in_triggers_watches_and_fixes_a_run(
    standalone: Standalone, page: Any, screenshot: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    url = standalone.wait_for(r"web UI\s+(http://\S+)").group(1)
    password = standalone.wait_for(r"log in as\s+admin / (\S+)").group(1)

    page.goto(url)
    page.wait_for_url("**/login?next=/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    journey = page.locator('tr[data-dag-id="journey"]')
    expect(journey).to_be_visible()
    expect(journey.locator(".dag-schedule")).to_have_text("never (manual only)")

    page.goto(f"{url}/dags/journey/trigger")
    greeting = page.locator('[data-param="greeting"]')
    expect(greeting).to_have_value("hello")
    greeting.fill("hi from the browser")
    page.get_by_role("button", name="Trigger").click()
    page.wait_for_url("**/dags/journey?run_id=manual__*")

    # The grid follows the run live: say succeeds, needs_flag fails (no flag yet).
    say = page.locator("tr[data-views-row='say'] a.views-cell.state-success")
    failed = page.locator("tr[data-views-row='needs_flag'] a.views-cell.state-failed")
    expect(say).to_have_count(1, timeout=WAIT_S * 1000)
    expect(failed).to_have_count(1, timeout=WAIT_S * 1000)
    screenshot(page, "journey_grid")

    say.click()
    page.wait_for_url("**/tasks/say?map_index=-1")
    expect(page.locator("pre.tasks-log")).to_contain_text("greeting: hi from the browser")

    page.get_by_role("link", name="Graph").click()
    expect(page.locator("g[data-views-node]")).to_have_count(2)
    page.get_by_role("link", name="Gantt").click()
    expect(page.locator("svg.views-gantt .views-gantt-label")).to_have_count(2)

    # Fix what made the task fail, clear it, and watch it succeed.
    (tmp_path / "flag").write_text("ready")
    page.goto(url + "/dags/journey")
    page.locator("tr[data-views-row='needs_flag'] a.views-cell.state-failed").click()
    page.get_by_role("button", name="Clear…").click()
    dialog = page.locator("#tasks-clear-dialog")
    expect(dialog.locator("[data-tasks-preview-item]")).to_have_count(1)
    dialog.get_by_role("button", name="Clear", exact=True).click()
    expect(page.locator("#attempt-meta .tasks-section-title")).not_to_contain_text("failed")
    page.get_by_role("link", name="Grid").click()
    expect(
        page.locator("tr[data-views-row='needs_flag'] a.views-cell.state-success")
    ).to_have_count(1, timeout=WAIT_S * 1000)
    screenshot(page, "journey_fixed")
