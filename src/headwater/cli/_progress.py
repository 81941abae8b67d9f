"""Live terminal progress for an in-process run: each task as it ends, its log, a summary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from headwater.cli._common import plain, shown_plain
from headwater.engine.states import TaskInstanceState as S

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from headwater.dag_test import DagRunResult
    from headwater.engine.records import TaskInstance

STYLES = {
    S.SUCCESS: ("✔", "green"),
    S.FAILED: ("✘", "red"),
    S.UPSTREAM_FAILED: ("✘", "dark_orange"),
    S.SKIPPED: ("↷", "magenta"),
    S.UP_FOR_RETRY: ("↻", "yellow"),
    S.UP_FOR_RESCHEDULE: ("↺", "turquoise2"),
    S.DEFERRED: ("⏸", "medium_purple"),
    S.RUNNING: ("▶", "cyan"),
}

WAITING = (S.UP_FOR_RETRY, S.UP_FOR_RESCHEDULE, S.DEFERRED)
"""States an attempt ends in without finishing its instance: it runs again."""


def format_duration(seconds: float) -> str:
    """``"12 ms"``, ``"3.40 s"``, ``"2 min 5 s"``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"


def styled_state(state: S) -> str:
    mark, color = STYLES.get(state, ("·", "white"))
    return f"[{color}]{mark} {state.value}[/{color}]"


class RunProgress:
    """Prints each attempt as it ends, with its log, under a live progress bar."""

    def __init__(
        self,
        console: Console,
        total_tasks: int,
        *,
        show_logs: bool = True,
        logs_folder: str | None = None,
        not_retried: str | None = None,
    ) -> None:
        """``not_retried``: said of an ``up_for_retry`` instance instead of when it retries,
        where nothing will retry it (``tasks test``)."""
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console
        self.show_logs = show_logs
        self._not_retried = not_retried
        if show_logs and logs_folder is None:
            from headwater.settings import load_settings

            logs_folder = str(load_settings().logs_folder)
        self._logs_folder = logs_folder or ""
        self.progress: Progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.bar: TaskID = self.progress.add_task("running", total=total_tasks)
        self._started: dict[tuple[str, int], float] = {}
        self._done = 0

    def __enter__(self) -> RunProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def task_started(self, ti: TaskInstance) -> None:
        self._started[(ti.task_id, ti.map_index)] = time.perf_counter()
        self.progress.update(self.bar, description=f"running {ti.key.label}")

    def task_finished(self, ti: TaskInstance) -> None:
        if not self.show_logs and ti.state in (S.SUCCESS, S.SKIPPED):
            # --quiet: the bar shows progress; only problems get a line.
            self._done += 1
            self.progress.update(self.bar, completed=self._done)
            self._started.pop((ti.task_id, ti.map_index), None)
            return
        began = self._started.pop((ti.task_id, ti.map_index), None)
        took = f" in {format_duration(time.perf_counter() - began)}" if began is not None else ""
        retry = ""
        if ti.state is S.UP_FOR_RETRY and self._not_retried:
            retry = f", {self._not_retried}"
        elif ti.state is S.UP_FOR_RETRY and ti.next_retry_at and ti.end_date:
            wait = (ti.next_retry_at - ti.end_date).total_seconds()
            retry = f", retrying in {wait:g}s"
        elif ti.state is S.UP_FOR_RESCHEDULE and ti.next_retry_at and ti.end_date:
            wait = (ti.next_retry_at - ti.end_date).total_seconds()
            retry = f", poking again in {wait:.3g}s"
        elif ti.state is S.DEFERRED:
            retry = f", waiting for its trigger to resume in {ti.next_method}"
        self.console.print(
            f"{styled_state(ti.state)} [bold]{ti.key.label}[/bold] "
            f"(try {ti.try_number}/{ti.max_tries}){took}{retry}"
        )
        if self.show_logs:
            self._print_log(ti)
        if ti.state not in WAITING:
            self._done += 1
            self.progress.update(self.bar, completed=self._done)

    def _print_log(self, ti: TaskInstance) -> None:
        from rich.text import Text

        from headwater.runtime.logs import attempt_log_path

        path = attempt_log_path(self._logs_folder, ti.key, ti.try_number)
        try:
            text = Path(path).read_text(errors="replace")
        except OSError:  # never written, or its folder removed since: the error says why
            return
        for line in text.splitlines():
            self.console.print(Text("    │ " + shown_plain(line), style="dim"))


SUMMARY_ROWS = 40
"""Above this many task instances, the summary counts states and lists only the others."""


ERROR_WIDTH = 80
"""Characters of an error shown in the summary table; a longer one follows it in full."""


def _cut(error: str) -> str:
    return error[: ERROR_WIDTH - 1] + "…" if len(error) > ERROR_WIDTH else error


def print_summary(console: Console, result: DagRunResult, started: float) -> None:
    """The summary table, then the verdict with the time since ``started`` (perf_counter)."""
    from collections import Counter

    from rich.table import Table

    tis = result.task_instances
    shown = tis
    title = f"Run {result.run.run_id}"
    if len(tis) > SUMMARY_ROWS:
        counts = Counter(ti.state for ti in tis)
        title += ": " + ", ".join(f"{n} {state.value}" for state, n in counts.most_common())
        shown = [ti for ti in tis if ti.state is not S.SUCCESS][:SUMMARY_ROWS]
    summary = Table(title=title, title_justify="left", header_style="bold")
    for column in ("task", "state", "tries", "duration", "error"):
        summary.add_column(column)
    for ti in shown:
        duration = ""
        if ti.start_date and ti.end_date:
            duration = format_duration((ti.end_date - ti.start_date).total_seconds())
        summary.add_row(
            ti.key.label,
            styled_state(ti.state),
            str(ti.try_number),
            duration,
            plain(_cut(ti.error or "")),
        )
    if shown:
        console.print(summary)
    for ti in shown:  # what the table cut, whole: a check's message names every failure
        if ti.error and _cut(ti.error) != ti.error:
            console.print(f"[bold]{plain(ti.key.label)}[/bold]: {plain(ti.error)}", soft_wrap=True)
    else:
        console.print(f"[bold]{title}[/bold]")
    if len(shown) < len(tis) and shown:
        console.print(f"({len(tis) - len(shown)} more task instances not listed)")
    verdict = "[green]succeeded[/green]" if result.succeeded else "[red]failed[/red]"
    elapsed = time.perf_counter() - started
    console.print(f"DAG [bold]{result.run.dag_id}[/bold] {verdict} in {format_duration(elapsed)}")
