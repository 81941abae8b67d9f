"""How long does the REST API take on a long history, and how much memory does its server hold?

For each history size (``--rows``, task-instance rows; 10k and 1M by default) it takes a
SQLite database of 200 DAGs from ``history_data.py`` (generated once, then reused from the
cache), starts a real API server on it (uvicorn on 127.0.0.1, one worker, the app of
``headwater.web.app.create_app``) in a subprocess, authenticates with a real bearer token,
and then, for each endpoint, sends ``--requests`` requests one after the other with httpx
(after ``--warmup`` requests that are not counted):

* ``GET /api/v1/dags``: the DAG list (first page, 100 DAGs);
* ``GET /api/v1/dags/{busiest}/grid?runs=25``: the grid of the DAG with the most history;
* ``GET /api/v1/dags/{busiest}/graph?run_id={newest}``: the graph of its newest run;
* and, for the record, the UI's pages of the same three (``/``, ``/dags/{id}``,
  ``/dags/{id}/graph``).

The time of a request is measured by the client, from sending it to having read the whole
answer, on 127.0.0.1 over a kept-alive connection: it includes the HTTP parsing on both
sides (a few hundred microseconds) besides the server's work. It reports p50, p95 and max per
endpoint, and the server's CPU time per request (p50, p95: its threads' run time from
``/proc/<pid>/task/*/schedstat`` before and after each request), which, unlike the client's
times, hardly grows when other work competes for the CPUs. An endpoint that does not exist
(404 or 405 at the first request) is reported as "missing"; any other answer but 200 as its
status.

The server's memory is its resident set (``VmRSS`` of ``/proc/<pid>/status``) once it has
started, after the warm-up, and after all timed requests.

Before the server starts, the database is migrated to this commit's schema, and an admin user
and an API token are made in it (``headwater.services.users`` and ``tokens``); every request
sends ``Authorization: Bearer <token>``. On a commit without those modules the server is
started with its one ``authenticate`` dependency overridden by an admin principal (the
report says so).

Linux only (``/proc``). A benchmark, not a test: it checks only that the answers are 200.

    .venv/bin/python benchmarks/api_latency.py                     # 10k and 1M rows
    .venv/bin/python benchmarks/api_latency.py --quick             # 10k rows, 50 requests
    .venv/bin/python benchmarks/api_latency.py --rows 10000,100000,1000000 --json
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from _common import command_line, machine_info, print_table
from history_data import DEFAULT_CACHE, History, ensure_history, folder_name, summary

TARGET_P95_MS = 100.0
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
BENCH_USER = "bench-admin"


@dataclass
class Endpoint:
    name: str
    path: str
    api: bool = True


@dataclass
class Timing:
    name: str
    path: str
    status: str
    """'ok', 'missing (404)', or the status and detail of a failed answer."""
    count: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    max_ms: float | None = None
    bytes: int = 0
    """The size of one answer's body."""
    cpu_p50_ms: float | None = None
    cpu_p95_ms: float | None = None
    """The server process's CPU time per request (all its threads, from the scheduler's own
    nanosecond counts in ``/proc/<pid>/task/*/schedstat``, read before and after each
    request). Unlike the client's times it hardly grows when other work competes for the
    CPUs: on an idle machine a request's time is about this plus the HTTP round trip."""


@dataclass
class SizeResult:
    rows: int
    history: dict[str, Any]
    reused: bool
    auth: str
    timings: list[Timing] = field(default_factory=list)
    rss_mb: dict[str, float] = field(default_factory=dict)
    """The server's VmRSS: 'started', 'warmed', 'after'."""


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        type=lambda text: [int(x) for x in text.split(",") if x.strip()],
        default=[10_000, 1_000_000],
        help="task-instance rows of history, a comma list (default 10000,1000000)",
    )
    parser.add_argument("--dags", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per endpoint")
    parser.add_argument("--quick", action="store_true", help="10k rows, 50 requests")
    parser.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"where generated histories are kept and reused (default {DEFAULT_CACHE})",
    )
    parser.add_argument("--no-ui", action="store_true", help="the API's endpoints only")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.requests, args.warmup = [10_000], 50, 10

    machine = machine_info()
    results = []
    for rows in args.rows:
        history, reused = ensure_history(
            dags=args.dags,
            rows=rows,
            folder=args.cache / folder_name(args.dags, rows, seed=12),
        )
        print(summary(history, reused), file=sys.stderr)
        results.append(
            measure(history, reused, requests=args.requests, warmup=args.warmup, ui=not args.no_ui)
        )
    if args.json:
        print(
            json.dumps(
                {
                    "machine": machine,
                    "command": command_line(),
                    "requests": args.requests,
                    "results": [asdict(r) for r in results],
                },
                indent=2,
            )
        )
    else:
        report(results, machine, args.requests)


# -- the server ----------------------------------------------------------------------------------


def serve(port: int, options: list[str]) -> None:
    """The server process: the app of ``create_app`` (settings from the environment) on
    uvicorn, one worker, no access log. ``--as-admin`` overrides ``authenticate``."""
    import uvicorn

    from headwater.web.app import create_app

    app = create_app()
    if "--as-admin" in options:
        from headwater.auth.principals import Principal
        from headwater.web.security import authenticate

        admin = Principal(BENCH_USER, role="admin", level="admin", dag_tags=None, via="token")
        app.dependency_overrides[authenticate] = lambda: admin
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def server_env(history: History) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")}
    home = Path(history.folder) / "home"
    home.mkdir(exist_ok=True)
    env["HEADWATER_HOME"] = str(home)
    env["HEADWATER_DATABASE_URL"] = history.database_url
    env["HEADWATER_DAGS_FOLDER"] = history.dags_folder
    return env


def prepare_database(env: dict[str, str]) -> str | None:
    """Migrate the history's database to this commit's schema (a cached history may be older)
    and, where ``headwater.services.users`` exists, make an admin user and an API token for
    it there; returns the token, or None on a commit without users (the server then runs with
    ``authenticate`` overridden)."""
    from headwater.services.context import open_context
    from headwater.settings import load_settings

    database = Path(history_database(env))
    for path in database.parent.glob(database.name + "*"):
        path.chmod(0o600)  # headwater warns about a database that others can read
    settings = load_settings(env)
    with open_context(settings, migrate=True) as ctx:
        try:
            from headwater.services import tokens, users
        except ImportError:
            return None
        if not any(user.username == BENCH_USER for user in users.list_users(ctx)):
            users.create_user(ctx, BENCH_USER, secrets.token_urlsafe(16), "admin")
        return str(tokens.create_token(ctx, BENCH_USER, f"bench-{int(time.time())}").token)


def history_database(env: dict[str, str]) -> str:
    return env["HEADWATER_DATABASE_URL"].removeprefix("sqlite:///")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(env: dict[str, str], as_admin: bool, log: Path) -> Iterator[tuple[int, str]]:
    """The server's pid and base URL, once it answers; stopped (SIGINT, then SIGKILL) after."""
    import httpx

    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", str(port)]
    if as_admin:
        command.append("--as-admin")
    with open(log, "wb") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if server.poll() is not None:
                raise SystemExit(
                    f"the server exited with code {server.returncode}:\n{log.read_text()[-3000:]}"
                )
            try:
                httpx.get(f"{url}/api/v1/version", timeout=1.0)
                break
            except httpx.TransportError as error:
                if time.monotonic() > deadline:
                    message = f"the server did not answer within {START_TIMEOUT_S} s"
                    raise SystemExit(message) from error
                time.sleep(0.05)
        yield server.pid, url
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_ns(pid: int) -> int:
    """Nanoseconds that the threads of process ``pid`` have run on a CPU (the first field of
    each ``/proc/<pid>/task/<tid>/schedstat``)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            pass  # a thread that ended meanwhile
    return total


# -- timing --------------------------------------------------------------------------------------


def endpoints(history: History, ui: bool) -> list[Endpoint]:
    dag, run = history.busiest_dag, quote(history.newest_run, safe="")  # its "+00:00"
    chosen = [
        Endpoint("DAG list", "/api/v1/dags"),
        Endpoint("grid (25 runs)", f"/api/v1/dags/{dag}/grid?runs=25"),
        Endpoint("graph (newest run)", f"/api/v1/dags/{dag}/graph?run_id={run}"),
    ]
    if ui:
        chosen += [
            Endpoint("page: DAG list", "/", api=False),
            Endpoint("page: grid", f"/dags/{dag}", api=False),
            Endpoint("page: graph", f"/dags/{dag}/graph?run_id={run}", api=False),
        ]
    return chosen


def measure(history: History, reused: bool, *, requests: int, warmup: int, ui: bool) -> SizeResult:
    import httpx

    env = server_env(history)
    token = prepare_database(env)
    auth = "bearer token" if token else "authenticate() overridden (no users service yet)"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    result = SizeResult(history.task_instances, asdict(history), reused, auth)
    log = Path(history.folder) / "api-server.log"
    with running_server(env, as_admin=token is None, log=log) as (pid, url):
        time.sleep(0.5)  # let the process settle after its first answer
        result.rss_mb["started"] = rss_mb(pid)
        chosen = endpoints(history, ui)
        with httpx.Client(base_url=url, headers=headers, timeout=60.0) as client:
            usable = [e for e in chosen if warm_up(client, e, warmup, result)]
            result.rss_mb["warmed"] = rss_mb(pid)
            for endpoint in usable:
                result.timings.append(time_endpoint(client, pid, endpoint, requests))
        result.rss_mb["after"] = rss_mb(pid)
    order = {e.name: i for i, e in enumerate(chosen)}
    result.timings.sort(key=lambda t: order[t.name])
    return result


def warm_up(client: Any, endpoint: Endpoint, count: int, result: SizeResult) -> bool:
    """Send the warm-up requests; False (and the endpoint's status recorded) when the first
    answer is not a 200."""
    import httpx

    try:
        answer = client.get(endpoint.path)
    except httpx.TransportError as error:  # the server closed the connection, or died
        result.timings.append(Timing(endpoint.name, endpoint.path, f"no answer ({error!r})"))
        return False
    if answer.status_code != 200:
        result.timings.append(Timing(endpoint.name, endpoint.path, failed_status(answer)))
        return False
    for _ in range(count - 1):
        client.get(endpoint.path)
    return True


def failed_status(answer: Any) -> str:
    if answer.status_code in (404, 405):
        return f"missing ({answer.status_code})"
    detail = ""
    try:
        detail = str(answer.json().get("detail", ""))[:80]
    except ValueError:
        pass
    return f"HTTP {answer.status_code} {detail}".strip()


def time_endpoint(client: Any, pid: int, endpoint: Endpoint, count: int) -> Timing:
    times = []
    cpu = []
    size = 0
    for _ in range(count):
        cpu_before = cpu_ns(pid)
        began = time.perf_counter()
        answer = client.get(endpoint.path)
        body = answer.content
        times.append((time.perf_counter() - began) * 1000)
        cpu.append((cpu_ns(pid) - cpu_before) / 1e6)
        if answer.status_code != 200:
            return Timing(endpoint.name, endpoint.path, failed_status(answer), len(times))
        size = len(body)
    return Timing(
        endpoint.name,
        endpoint.path,
        "ok",
        count,
        p50_ms=round(statistics.median(times), 2),
        p95_ms=round(percentile(times, 95), 2),
        max_ms=round(max(times), 2),
        bytes=size,
        cpu_p50_ms=round(statistics.median(cpu), 2),
        cpu_p95_ms=round(percentile(cpu, 95), 2),
    )


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (linear between the closest ranks)."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# -- the report ----------------------------------------------------------------------------------


def report(results: list[SizeResult], machine: dict[str, Any], requests: int) -> None:
    print(
        f"machine: {machine['nproc']} CPUs ({machine['cpu']}), Python {machine['python']}, "
        f"load average at start {machine['loadavg_at_start']}"
    )
    for result in results:
        took = result.history["seconds"]
        how = "reused" if result.reused else "generated"
        print(
            f"\n{result.rows:,} task-instance rows ({result.history['runs']:,} runs, "
            f"{result.history['attempts']:,} attempts; {how}, generated in {took['total']} s); "
            f"auth: {result.auth}"
        )
        rows = []
        for timing in result.timings:
            met = ""
            if timing.p95_ms is not None and timing.path.startswith("/api/"):
                met = "yes" if timing.p95_ms < TARGET_P95_MS else "NO"
            rows.append(
                [
                    timing.name,
                    timing.status,
                    _ms(timing.p50_ms),
                    _ms(timing.p95_ms),
                    _ms(timing.max_ms),
                    _ms(timing.cpu_p50_ms),
                    _ms(timing.cpu_p95_ms),
                    f"{timing.bytes:,}" if timing.bytes else "-",
                    met,
                ]
            )
        print_table(
            f"{requests} sequential requests each, client time on 127.0.0.1 (ms)",
            "endpoint|status|p50|p95|max|CPU p50|CPU p95|bytes|p95 < 100 ms",
            rows,
        )
        rss = result.rss_mb
        print(
            f"server RSS: {rss.get('started')} MB started, {rss.get('warmed')} MB after the "
            f"warm-up, {rss.get('after')} MB after the timed requests"
        )
    if len(results) > 1:
        names = [t.name for t in results[0].timings]
        rows = []
        for name in names:
            row = [name]
            for result in results:
                timing = next((t for t in result.timings if t.name == name), None)
                row.append(
                    f"{_ms(timing.p50_ms)} / {_ms(timing.p95_ms)} ({_ms(timing.cpu_p95_ms)})"
                    if timing and timing.p95_ms is not None
                    else (timing.status if timing else "-")
                )
            rows.append(row)
        rows.append(["server RSS after (MB)", *(str(r.rss_mb.get("after")) for r in results)])
        print_table(
            "p50 / p95 ms (server CPU p95 ms) as the history grows",
            ["endpoint", *(f"{r.rows:,} rows" for r in results)],
            rows,
        )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


if __name__ == "__main__":
    main()
