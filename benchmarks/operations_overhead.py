"""What do OpenLineage events and Prometheus metrics cost per task? Throughput of no-op tasks
through ``headwater scheduler`` with them off and on, interleaved in one run.

Each run is one run of ``scheduler_end_to_end.py`` (its ``Point``, ``run_point`` and
``measure``: a fresh ``HEADWATER_HOME``, a real ``python -m headwater scheduler`` process
with its local worker processes, one triggered run of a fan-out of no-op tasks, figures from
the database), in one of these modes:

* **off**: ``[lineage] transport = "none"`` and no ``[metrics] scheduler_port`` (the
  defaults). The scheduler still records its metrics in memory, as it always does; nothing
  serves or scrapes them.
* **lineage**: ``[lineage] transport = "http"`` to an OpenLineage receiver on 127.0.0.1 that
  this script starts (a threaded HTTP/1.1 server that keeps every body POSTed to
  ``/api/v1/lineage``, and every event of the JSON arrays POSTed to the API's batch endpoint
  ``/api/v1/lineage/batch``), with ``[lineage] batch_size`` = ``--lineage-batch-size`` (100;
  1: one request per event) and ``batch_wait_s`` = ``--lineage-batch-wait`` (0.5 s). The
  scheduler sends the run's START and COMPLETE, each worker the START and COMPLETE of every
  attempt it runs. After the scheduler has stopped (its workers
  send what they still hold as they exit), the events are parsed and checked: exactly one
  START and one COMPLETE for the run and for every task, or the benchmark stops, since a
  figure measured without the events really sent would mean nothing.
* **metrics**: ``[metrics] scheduler_port`` set to a free port, and a thread of this script
  scraping ``http://127.0.0.1:<port>/metrics`` every ``--scrape-interval`` (1 s) from the
  scheduler's start to the run's end, as Prometheus would (a scrape costs the scheduler
  the page's rendering and a few ``COUNT`` queries). Once the run has ended, a last scrape
  (parsed with prometheus_client's parser) must show ``headwater_task_attempts_ended_total``
  equal to the tasks (all ``success``) and one DAG run ended ``success``, or the benchmark
  stops.
* **on**: both.

The modes go round-robin (off, lineage, metrics, on, off, ...; ``--modes``) for
``--repeat`` rounds after one warm-up run in the last mode, which is thrown away; each
figure is the median per mode. The **slowdown** of a mode is how much longer the tasks took
than with everything off: ``median exec tasks/s (off) / median exec tasks/s (mode) - 1``
(the execution window, from the first attempt's start to the run's end), and the same
from the trigger; the median of each round's own ratio against that round's ``off`` run is
shown too (less sensitive to a machine whose load drifts). The issue's target: ``on`` less
than 10 % slower than ``off``.

The receiver and the scraper run in this process and so share the machine's CPUs with the
scheduler, as a lineage backend or Prometheus on the same machine would; they do little
(the receiver keeps bodies and parses them after the run, the scraper only reads pages
until the last one).

Usage (``--help`` for all options)::

    .venv/bin/python benchmarks/operations_overhead.py           # 4 modes x 5 rounds: 5-8 min here
    .venv/bin/python benchmarks/operations_overhead.py --repeat 9 --modes off,on
    .venv/bin/python benchmarks/operations_overhead.py --json > result.json
    .venv/bin/python benchmarks/operations_overhead.py --postgres \\
        postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import socketserver
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import (
    KINDS,
    add_work_root_option,
    benchmark_main,
    command_line,
    fs_probe_end,
    fs_probe_line,
    fs_probe_start,
    loadavg,
    machine_info,
    parse_list,
    usable_cpus,
    work_folder,
)
from scheduler_end_to_end import DEFAULT_SIZES, SHAPES, Point, ms, run_point

MODES = ("off", "lineage", "metrics", "on")
LINEAGE_MODES = ("lineage", "on")
METRICS_MODES = ("metrics", "on")
TARGET_SLOWDOWN = 0.10
"""From the issue: with lineage and metrics on, at most 10 % slower."""

ATTEMPTS_ENDED = "headwater_task_attempts_ended_total"
RUNS_ENDED = "headwater_dag_runs_ended_total"

# -- the OpenLineage receiver -------------------------------------------------------------------


class LineageReceiver:
    """A small threaded HTTP/1.1 server on 127.0.0.1 (one thread per connection; the client
    keeps its connection alive) that keeps the body of every POST to ``/api/v1/lineage``
    (answering 200) and to the batch endpoint ``/api/v1/lineage/batch`` (a JSON array,
    answering 204), and parses them only after the run (:meth:`wait_for`, :meth:`check`). It
    reads no more of a request than its request line and its ``Content-Length``, so that it
    takes little of the machine's CPUs while a run goes on (``http.server`` takes several
    times as much; parsing each batch as it came, 0.03 ms of CPU per task)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.batch_bodies: list[bytes] = []
        self._parsed: list[list[dict[str, Any]]] = []
        self.requests = 0
        self.lock = threading.Lock()
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _receiver_handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), name="lineage-receiver", daemon=True
        )
        self._thread.start()

    def wait_for(self, count: int, timeout_s: float) -> int:
        """Wait at most ``timeout_s`` until ``count`` events came; how many did."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.lock:
                received = len(self.bodies) + sum(len(b) for b in self._batches())
            if received >= count or time.monotonic() >= deadline:
                return received
            time.sleep(0.05)

    def check(self, dag_id: str, task_ids: list[str]) -> dict[str, Any]:
        """The events received, against one START and one COMPLETE for the run of ``dag_id``
        and for each of its tasks (each try is one: the tasks have no retries), each task's
        event naming the run as its parent."""
        with self.lock:
            events = [json.loads(body) for body in self.bodies]
            events += [event for batch in self._batches() for event in batch]
            requests = self.requests
        found = Counter((e["job"]["name"], e["eventType"]) for e in events)
        jobs = [dag_id, *(f"{dag_id}.{task_id}" for task_id in task_ids)]
        expected = Counter({(job, kind): 1 for job in jobs for kind in ("START", "COMPLETE")})
        run_ids = {e["run"]["runId"] for e in events if e["job"]["name"] == dag_id}
        orphans = [
            e["job"]["name"]
            for e in events
            if e["job"]["name"] != dag_id
            and e["run"].get("facets", {}).get("parent", {}).get("run", {}).get("runId")
            not in run_ids
        ]
        return {
            "events": len(events),
            "requests": requests,
            "expected": sum(expected.values()),
            "missing": sorted(f"{job} {kind}" for job, kind in (expected - found).elements()),
            "unexpected": sorted(f"{job} {kind}" for job, kind in (found - expected).elements()),
            "without_parent": len(orphans),
        }

    def _batches(self) -> list[list[dict[str, Any]]]:
        """The batches received, parsed (each once; the caller holds the lock)."""
        while len(self._parsed) < len(self.batch_bodies):
            self._parsed.append(json.loads(self.batch_bodies[len(self._parsed)]))
        return self._parsed

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


def _receiver_handler(receiver: LineageReceiver) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            # One connection, many requests (keep-alive), until the client closes it.
            while request_line := self.rfile.readline(65537):
                length = 0
                while (line := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = self.rfile.read(length)
                method, path = request_line.split()[:2]
                if method == b"POST" and path == b"/api/v1/lineage":
                    with receiver.lock:
                        receiver.bodies.append(body)
                        receiver.requests += 1
                    self.wfile.write(OK)
                elif method == b"POST" and path == b"/api/v1/lineage/batch":
                    with receiver.lock:
                        receiver.batch_bodies.append(body)
                        receiver.requests += 1
                    self.wfile.write(NO_CONTENT)
                else:
                    self.wfile.write(NOT_FOUND)
                self.wfile.flush()

    return Handler


# -- the Prometheus scraper ---------------------------------------------------------------------


class MetricsScraper:
    """A thread that GETs ``url`` every ``interval_s`` as Prometheus would; it reads each
    page whole but parses none of them (:meth:`last_samples` parses one more).

    Until the first page comes, a refused connection is the scheduler still starting; after
    it, every failed scrape is counted (and makes the run's figures invalid)."""

    def __init__(self, url: str, interval_s: float) -> None:
        self.url = url
        self.interval_s = interval_s
        self.pages = 0
        self.page_bytes = 0
        self.seconds: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="metrics-scraper", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            began = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=10) as answer:
                    size = len(answer.read())
            except (OSError, urllib.error.URLError) as exc:
                if self.pages:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
            else:
                self.pages += 1
                self.page_bytes = size
                self.seconds.append(time.perf_counter() - began)
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def last_samples(self) -> dict[tuple[str, str], float]:
        """One more scrape, parsed: the value of each sample with at most a ``state`` label,
        by (name, state)."""
        from prometheus_client.parser import text_string_to_metric_families

        with urllib.request.urlopen(self.url, timeout=10) as answer:
            text = answer.read().decode()
        return {
            (sample.name, sample.labels.get("state", "")): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if set(sample.labels) <= {"state"}
        }


def wait_for_counts(
    scraper: MetricsScraper, n: int, timeout_s: float
) -> tuple[dict[str, float], dict[str, float]]:
    """The attempts ended and the runs ended by state, from the last scrape; scraped again
    (every 0.1 s, at most ``timeout_s``) until the attempts ended add up to ``n``."""
    deadline = time.monotonic() + timeout_s
    while True:
        samples = scraper.last_samples()
        attempts = {s: v for (name, s), v in samples.items() if name == ATTEMPTS_ENDED and v}
        runs = {s: v for (name, s), v in samples.items() if name == RUNS_ENDED and v}
        if sum(attempts.values()) >= n or time.monotonic() >= deadline:
            return attempts, runs
        time.sleep(0.1)


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- one run in one mode ------------------------------------------------------------------------


def task_ids(point: Point) -> list[str]:
    """The task ids of the generated DAG (``_common.DAG_TASKS_CODE``)."""
    first = "t0" if point.shape == "chain" else "root"
    return [first, *(f"t{i}" for i in range(1, point.n))]


def run_mode(
    point: Point, mode: str, work: Path, args: argparse.Namespace, phase: random.Random
) -> dict[str, Any]:
    """One run through a scheduler with ``mode``'s features on, its figures and checks.
    Exits naming what is missing when the events or the metrics were not all there."""
    receiver = LineageReceiver() if mode in LINEAGE_MODES else None
    scraper: MetricsScraper | None = None
    port = free_port() if mode in METRICS_MODES else 0
    env: dict[str, str] = {}
    if receiver is not None:
        env["HEADWATER__LINEAGE__TRANSPORT"] = "http"
        env["HEADWATER__LINEAGE__URL"] = receiver.url
        env["HEADWATER__LINEAGE__BATCH_SIZE"] = str(args.lineage_batch_size)
        env["HEADWATER__LINEAGE__BATCH_WAIT_S"] = str(args.lineage_batch_wait)
    if port:
        env["HEADWATER__METRICS__SCHEDULER_PORT"] = str(port)
        scraper = MetricsScraper(f"http://127.0.0.1:{port}/metrics", args.scrape_interval)
    point.extra_env = env
    checks: dict[str, Any] = {}

    def before_stop() -> None:
        if scraper is None:
            return
        scraper.stop()
        attempts, runs = wait_for_counts(scraper, point.n, timeout_s=10)
        checks["metrics"] = {
            "scrapes": scraper.pages,
            "scrape_failures": scraper.failures,
            "page_kb": round(scraper.page_bytes / 1024, 1),
            "scrape_ms_median": round(statistics.median(scraper.seconds) * 1000, 1)
            if scraper.seconds
            else None,
            "attempts_ended": attempts,
            "runs_ended": runs,
        }

    try:
        result = run_point(point, work, args, phase, before_stop=before_stop)
    finally:
        point.extra_env = {}
        if scraper is not None:
            scraper.stop()
        if receiver is not None:
            # The scheduler has stopped: its workers sent what they held as they exited.
            receiver.wait_for(2 * (point.n + 1), timeout_s=10)
            receiver.close()
    problems = []
    if receiver is not None:
        lineage = checks["lineage"] = receiver.check(point.dag_id, task_ids(point))
        if lineage["missing"] or lineage["unexpected"] or lineage["without_parent"]:
            problems.append(
                f"lineage: {lineage['events']} events for {lineage['expected']} expected; "
                f"missing {lineage['missing'][:5]}, unexpected {lineage['unexpected'][:5]}, "
                f"{lineage['without_parent']} without the run as parent"
            )
    if scraper is not None:
        metrics = checks["metrics"]
        if metrics["attempts_ended"] != {"success": point.n} or metrics["runs_ended"] != {
            "success": 1
        }:
            problems.append(
                f"metrics: {ATTEMPTS_ENDED} {metrics['attempts_ended']}, {RUNS_ENDED} "
                f"{metrics['runs_ended']}; expected {{'success': {point.n}}} and {{'success': 1}}"
            )
        if not metrics["scrapes"] or metrics["scrape_failures"]:
            problems.append(
                f"metrics: {metrics['scrapes']} pages scraped, failures "
                f"{metrics['scrape_failures'][:3]}"
            )
    if problems:
        sys.exit(f"{mode} run of {point.dag_id}: the figure is not valid: " + "; ".join(problems))
    result["mode"] = mode
    result["checks"] = checks
    return result


# -- aggregation --------------------------------------------------------------------------------

FIGURES = (
    "execution_tasks_per_s",
    "tasks_per_s",
    "execution_s",
    "total_s",
    "scheduler_cpu_s",
    "other_cpu_s",
    "own_cpu_s",
    "foreign_cpu_share",
)


def aggregate(mode: str, runs: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """The medians of one mode's runs."""
    row: dict[str, Any] = {"mode": mode, "repeats": len(runs)}
    for name in FIGURES:
        values = [r[name] for r in runs if name in r]
        if values:
            row[name] = statistics.median(values)
    for name in ("scheduler_cpu_s", "other_cpu_s", "own_cpu_s"):
        if name in row:
            row[name.replace("_s", "_ms_per_task")] = row[name] * 1000 / n
    row["attempt_median_s"] = statistics.median(r["attempt_s"]["median"] for r in runs)
    row["runs"] = runs
    return row


def slowdowns(rows: dict[str, dict[str, Any]], rounds: list[dict[str, dict[str, Any]]]) -> None:
    """Add each mode's slowdown against ``off``: of the medians, and the median of the
    rounds' own ratios (each round's run against that round's ``off``)."""
    off = rows.get("off")
    if off is None:
        return
    for mode, row in rows.items():
        for figure, key in (
            ("execution_tasks_per_s", "slowdown"),
            ("tasks_per_s", "slowdown_total"),
        ):
            row[key] = off[figure] / row[figure] - 1
            paired = [r["off"][figure] / r[mode][figure] - 1 for r in rounds if mode in r]
            row[f"{key}_paired"] = statistics.median(paired)


# -- report -------------------------------------------------------------------------------------


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f} %"


def report(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    # Not a terminal (a file, a pipe): wide enough for the tables, not 80 columns.
    console = Console(width=None if sys.stdout.isatty() else 150)
    m = result["machine"]
    console.print(
        f"headwater {result['headwater_version']} ({result['commit']}) | python {m['python']} | "
        f"{m['nproc']} CPUs ({m['cpu']}) | {m['date']} | load average "
        f"{m['loadavg_at_start']} at the start, {m.get('loadavg_at_end', '-')} at the end"
    )
    console.print(
        f"{result['shape']}/{result['kind']}, {result['n']} no-op tasks, parallelism "
        f"{result['parallelism']}, database {result['database']}; medians of "
        f"{result['repeat']} interleaved rounds ({', '.join(result['modes'])})"
        f"{' after a warm-up run' if result.get('warmup', True) else ''}; metrics scraped "
        f"every {result['scrape_interval']:g} s; lineage batch_size "
        f"{result.get('lineage_batch_size', 1)}, batch_wait_s "
        f"{result.get('lineage_batch_wait_s', 0):g}"
    )
    if "fs_probe" in result:
        console.print(fs_probe_line(result["fs_probe"]))

    # CPU per task of every process that works for the run: the scheduler, its children,
    # this one's receiver and scraper. On a loaded machine it varies less than throughput.
    cpu_parts = ("scheduler_cpu_ms_per_task", "other_cpu_ms_per_task", "own_cpu_ms_per_task")
    all_cpu = {
        row["mode"]: sum(row[part] for part in cpu_parts)
        for row in result["rows"]
        if all(part in row for part in cpu_parts)
    }
    table = Table(
        title="Throughput by mode (slowdown: against off; paired: median of rounds' own "
        "ratios) and CPU ms per task (sched: the scheduler; children: its workers, fork "
        "server, DAG processor; receiver+scraper: this process)"
    )
    for header in (
        "mode",
        "exec tasks/s",
        "slowdown",
        "paired",
        "tasks/s (trigger)",
        "slowdown",
        "attempt med ms",
        "CPU ms/task sched",
        "children",
        "receiver+scraper",
        "all",
        "CPU slowdown",
        "others %",
    ):
        table.add_column(header, justify="left" if header == "mode" else "right")
    for row in result["rows"]:
        table.add_row(
            row["mode"],
            f"{row['execution_tasks_per_s']:.0f}",
            percent(row.get("slowdown")),
            percent(row.get("slowdown_paired")),
            f"{row['tasks_per_s']:.0f}",
            percent(row.get("slowdown_total")),
            ms(row["attempt_median_s"]),
            f"{row['scheduler_cpu_ms_per_task']:.2f}" if "scheduler_cpu_s" in row else "-",
            f"{row['other_cpu_ms_per_task']:.2f}" if "other_cpu_s" in row else "-",
            f"{row['own_cpu_ms_per_task']:.2f}" if "own_cpu_s" in row else "-",
            f"{all_cpu[row['mode']]:.2f}" if row["mode"] in all_cpu else "-",
            percent(all_cpu[row["mode"]] / all_cpu["off"] - 1)
            if row["mode"] in all_cpu and "off" in all_cpu
            else "-",
            f"{row['foreign_cpu_share'] * 100:.0f}" if "foreign_cpu_share" in row else "-",
        )
    console.print(table)

    checks = Table(title="What was really sent (per run of the mode: min-max)")
    headers = ("mode", "lineage events received", "in requests", "expected", "scrapes", "page kB")
    for header in headers:
        checks.add_column(header, justify="left" if header == "mode" else "right")
    for row in result["rows"]:
        lineage = [r["checks"]["lineage"] for r in row["runs"] if "lineage" in r["checks"]]
        metrics = [r["checks"]["metrics"] for r in row["runs"] if "metrics" in r["checks"]]
        checks.add_row(
            row["mode"],
            span([c["events"] for c in lineage]),
            span([c.get("requests", c["events"]) for c in lineage]),
            span([c["expected"] for c in lineage]),
            span([c["scrapes"] for c in metrics]),
            span([c["page_kb"] for c in metrics]),
        )
    console.print(checks)

    verdict = result["verdict"]
    if verdict is not None:
        console.print(
            f"Target: lineage and metrics on at most {TARGET_SLOWDOWN * 100:g} % slower: "
            f"measured {percent(verdict['measured'])} (paired "
            f"{percent(verdict['paired'])}): "
            + ("[bold green]met[/]" if verdict["met"] else "[bold red]NOT met[/]")
        )


def span(values: list[float]) -> str:
    if not values:
        return "-"
    low, high = min(values), max(values)
    return f"{low:g}" if low == high else f"{low:g}-{high:g}"


# -- main ---------------------------------------------------------------------------------------


def current_commit() -> str:
    import subprocess

    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--modes",
        type=lambda text: parse_list(text, MODES),
        default=list(MODES),
        help="a comma list, run round-robin in this order: off (nothing), lineage (events "
        "over HTTP), metrics (the scheduler's /metrics, scraped), on (both); default all",
    )
    parser.add_argument("--shape", choices=SHAPES, default="fanout", help="fanout (default)")
    parser.add_argument("--kind", choices=KINDS, default="task", help="task (default) or empty")
    parser.add_argument(
        "--size", type=int, default=None, help=f"tasks; default {DEFAULT_SIZES} by shape"
    )
    parser.add_argument(
        "--parallelism",
        type=int,
        default=usable_cpus(),
        help=f"worker processes; default: the number of CPUs ({usable_cpus()})",
    )
    parser.add_argument("--repeat", type=int, default=5, help="rounds (median per mode); 5")
    parser.add_argument(
        "--scrape-interval", type=float, default=1.0, help="seconds between scrapes; 1"
    )
    parser.add_argument(
        "--lineage-batch-size",
        type=int,
        default=100,
        help="[lineage] batch_size: events per request to the batch endpoint; 100 "
        "(1: one request per event)",
    )
    parser.add_argument(
        "--lineage-batch-wait",
        type=float,
        default=0.5,
        help="[lineage] batch_wait_s: seconds an event waits for others; 0.5",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=None,
        help="PostgreSQL instead of SQLite: a database URL on the server (e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres); each run gets a fresh "
        "database there, dropped afterwards",
    )
    parser.add_argument(
        "--settle", type=float, default=1.0, help="seconds from the first pass to the trigger; 1"
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds a run may take")
    parser.add_argument(
        "--idle-below",
        type=float,
        default=10.0,
        help="before each run, wait until the CPUs are less than this %% busy; 10",
    )
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=20.0,
        help="wait at most this many seconds for that (0: no check); 20",
    )
    parser.add_argument(
        "--dag-processor",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the scheduler with its DAG processor child (its default); the folder is "
        "processed once before the scheduler starts either way",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the trigger phases; 0")
    parser.add_argument("--no-warmup", action="store_true", help="skip the warm-up run")
    add_work_root_option(parser, "the homes (database, DAG file, task logs)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument(
        "--from-json", metavar="FILE", default=None, help="print the tables of a saved --json"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    if args.size is not None and args.size < 2:
        parser.error("--size must be >= 2")
    if args.parallelism < 1:
        parser.error("--parallelism must be >= 1")
    if args.scrape_interval <= 0:
        parser.error("--scrape-interval must be > 0")
    if not 1 <= args.lineage_batch_size <= 1000:
        parser.error("--lineage-batch-size must be from 1 to 1000")
    if not 0 <= args.lineage_batch_wait <= 60:
        parser.error("--lineage-batch-wait must be from 0 to 60")
    # What scheduler_end_to_end.run_point reads besides these.
    args.loop_interval = None
    args.queued_ahead = None
    return args


def run_benchmark(args: argparse.Namespace, progress: Callable[[str], None]) -> dict[str, Any]:
    import headwater

    n = args.size or DEFAULT_SIZES[args.shape]
    point = Point(args.shape, args.kind, n, args.parallelism)
    phase = random.Random(args.seed)
    with work_folder(args.tmp, "headwater-ops-") as work:
        started = time.perf_counter()
        result: dict[str, Any] = {
            "machine": machine_info(date=datetime.now(UTC).isoformat(timespec="seconds")),
            "headwater_version": headwater.__version__,
            "commit": current_commit(),
            "command": command_line(),
            "shape": args.shape,
            "kind": args.kind,
            "n": n,
            "parallelism": args.parallelism,
            "repeat": args.repeat,
            "modes": args.modes,
            "scrape_interval": args.scrape_interval,
            "lineage_batch_size": args.lineage_batch_size,
            "lineage_batch_wait_s": args.lineage_batch_wait,
            "warmup": not args.no_warmup,
            "database": "PostgreSQL" if args.postgres else "SQLite",
            "fs_probe": fs_probe_start(work),
        }
        if not args.no_warmup:
            progress(f"warm-up run ({args.modes[-1]})...")
            run_mode(point, args.modes[-1], work, args, phase)
        rounds: list[dict[str, dict[str, Any]]] = []
        for number in range(1, args.repeat + 1):
            rounds.append({})
            for mode in args.modes:
                run = rounds[-1][mode] = run_mode(point, mode, work, args, phase)
                progress(
                    f"  round {number}/{args.repeat} {mode:>7}: "
                    f"{run['execution_tasks_per_s']:.0f} exec tasks/s, "
                    f"{run['tasks_per_s']:.0f} tasks/s from the trigger"
                )
        fs_probe_end(result["fs_probe"], work)
    rows = {mode: aggregate(mode, [r[mode] for r in rounds], n) for mode in args.modes}
    slowdowns(rows, rounds)
    result["rows"] = list(rows.values())
    on = rows.get("on")
    result["verdict"] = (
        None
        if on is None or "slowdown" not in on
        else {
            "target": TARGET_SLOWDOWN,
            "measured": on["slowdown"],
            "paired": on["slowdown_paired"],
            "met": on["slowdown"] < TARGET_SLOWDOWN,
        }
    )
    result["machine"]["loadavg_at_end"] = loadavg()
    result["benchmark_wall_s"] = time.perf_counter() - started
    return result


def main() -> None:
    benchmark_main(parse_args, run_benchmark, report)


if __name__ == "__main__":
    main()
