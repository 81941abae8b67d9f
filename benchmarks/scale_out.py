"""Scale-out: the same runs through the local worker pool, through Celery workers, and with two
schedulers, in one run of this script.

Each point is a run of ``scheduler_end_to_end.py`` (its ``Point``, ``run_point`` and
``measure``: a fresh home, one DAG of no-op tasks, a real ``headwater scheduler`` process,
figures from the database) in one of these configurations (``--configs``):

* **local**: the local worker pool, ``--parallelism`` workers (default: the CPUs);
* **celery-N** for each N of ``--celery-processes`` (default 1, 2, 4): ``executor = celery``,
  and one ``headwater celery worker --concurrency N`` process (N child processes) on a
  queue of its own, started before the scheduler, on ``--broker`` (Redis by default; an
  ``amqp://`` URL for RabbitMQ) with results in ``--result-backend``. The scheduler may have
  ``--celery-parallelism`` attempts queued or running (16): the broker holds what the
  workers have not taken yet. The run is triggered once the worker answers Celery's ping;
* **two-schedulers** (PostgreSQL only, ``--postgres``): a second ``headwater scheduler``
  (without a DAG processor) beside the first, each with ``--parallelism`` local workers.
  A run is driven by one scheduler at a time (run claims), so one run goes no faster; the
  figure checks that the second scheduler costs the first nothing.

Configurations run round-robin, ``--repeat`` rounds after one warm-up run. Reported per
configuration and shape: execution tasks/s (first attempt's start to the run's end), the
gap from an upstream attempt's end to its downstream attempt's start (the ready gap of a
fan-out, which leaves out the wait for a free worker; the dependency gap of a chain), and
CPU per task (scheduler; its children and the extra processes). Targets (issue 15): Celery
on Redis at least 300 no-op tasks/s and a median gap under 20 ms; two schedulers no slower
than one.

    .venv/bin/python benchmarks/scale_out.py
    .venv/bin/python benchmarks/scale_out.py --configs local,celery-4 --shapes fanout
    .venv/bin/python benchmarks/scale_out.py --broker amqp://guest:guest@127.0.0.1:5672//
    .venv/bin/python benchmarks/scale_out.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python benchmarks/scale_out.py --json > out.json; ... --from-json out.json
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
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
    fs_probe_start,
    loadavg,
    machine_info,
    parse_list,
    print_table,
    usable_cpus,
    work_folder,
)
from scheduler_end_to_end import DEFAULT_SIZES, SHAPES, Point, run_point

TARGET_CELERY_TASKS_PER_S = 300.0
TARGET_MEDIAN_GAP_S = 0.020


def parse_ints(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma list of numbers") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give numbers of at least 1")
    return values


def configure(point: Point, config: str, args: argparse.Namespace) -> None:
    """Set ``point``'s extra environment, processes and readiness check for ``config``."""
    point.extra_env, point.extra_commands, point.ready = {}, [], None
    headwater = [sys.executable, "-m", "headwater"]
    if config.startswith("celery-"):
        processes = int(config.removeprefix("celery-"))
        name = f"bench-{uuid.uuid4().hex[:8]}"
        point.extra_env = {
            "HEADWATER__SCHEDULER__EXECUTOR": "celery",
            "HEADWATER__SCHEDULER__PARALLELISM": str(args.celery_parallelism),
            "HEADWATER__CELERY__BROKER_URL": args.broker,
            "HEADWATER__CELERY__RESULT_BACKEND": args.result_backend,
            "HEADWATER__CELERY__DEFAULT_QUEUE": name,
        }
        point.extra_commands = [
            [
                *headwater,
                "celery",
                "worker",
                "--queues",
                name,
                "--concurrency",
                str(processes),
                "--hostname",
                f"{name}@%h",
                "--quiet",
            ]
        ]
        point.ready = lambda env: _celery_worker_answers(env, name)
    elif config == "two-schedulers":
        point.extra_commands = [[*headwater, "scheduler", "--quiet", "--no-dag-processor"]]
        point.ready = _two_schedulers_alive


def _celery_worker_answers(env: dict[str, str], name: str) -> bool:
    from headwater.celery_executor.workers import workers_status
    from headwater.settings import load_settings

    workers, _ = workers_status(load_settings(env).celery, timeout_s=0.5)
    return any(w.hostname.startswith(f"{name}@") for w in workers)


def _two_schedulers_alive(env: dict[str, str]) -> bool:
    from headwater.db.opening import open_store
    from headwater.settings import load_settings

    store = open_store(load_settings(env))
    try:
        alive = [j for j in store.list_jobs("scheduler") if j.ended_at is None]
        return len(alive) >= 2 and all(j.heartbeat_at > j.started_at for j in alive)
    finally:
        store.close()


def slots(config: str, args: argparse.Namespace) -> int:
    """Attempts that can run at once in ``config`` (the ready gap's model of free workers)."""
    if config.startswith("celery-"):
        return int(config.removeprefix("celery-"))
    if config == "two-schedulers":
        return 2 * args.parallelism
    return args.parallelism


def run_config(
    config: str, shape: str, work: Path, args: argparse.Namespace, phase: random.Random
) -> dict[str, Any]:
    n = args.fanout_size if shape == "fanout" else args.chain_size
    point = Point(shape, args.kind, n, slots(config, args))
    configure(point, config, args)
    env_parallelism = {"HEADWATER__SCHEDULER__PARALLELISM": str(args.parallelism)}
    if not config.startswith("celery-"):
        point.extra_env |= env_parallelism
    result = run_point(point, work, args, phase)
    result["config"], result["shape"], result["n"] = config, shape, n
    return result


FIGURES = ("execution_tasks_per_s", "tasks_per_s", "scheduler_cpu_s", "other_cpu_s")


def aggregate(config: str, shape: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    gap = "ready_gap_s" if shape == "fanout" else "dependency_gap_s"
    row: dict[str, Any] = {"config": config, "shape": shape, "n": runs[0]["n"], "runs": runs}
    for name in FIGURES:
        values = [r[name] for r in runs if name in r]
        if values:
            row[name] = statistics.median(values)
    row["gap_median_s"] = statistics.median(r[gap]["median"] for r in runs)
    row["gap_p95_s"] = statistics.median(r[gap]["p95"] for r in runs)
    return row


def verdicts(rows: list[dict[str, Any]], broker: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    celery = [r for r in rows if r["config"].startswith("celery-")]
    if celery and broker.startswith("redis"):
        fanouts = [r for r in celery if r["shape"] == "fanout"]
        if fanouts:
            best = max(fanouts, key=lambda r: r["execution_tasks_per_s"])
            out.append(
                {
                    "target": f"Celery on Redis >= {TARGET_CELERY_TASKS_PER_S:g} no-op tasks/s "
                    "(fan-out, the best worker count)",
                    "measured": f"{best['execution_tasks_per_s']:.0f}/s ({best['config']})",
                    "met": best["execution_tasks_per_s"] >= TARGET_CELERY_TASKS_PER_S,
                }
            )
        worst = max(celery, key=lambda r: r["gap_median_s"])
        out.append(
            {
                "target": f"Celery on Redis: median gap < {TARGET_MEDIAN_GAP_S * 1000:g} ms",
                "measured": f"{worst['gap_median_s'] * 1000:.1f} ms ({worst['config']}, "
                f"{worst['shape']})",
                "met": worst["gap_median_s"] < TARGET_MEDIAN_GAP_S,
            }
        )
    by_key = {(r["config"], r["shape"]): r for r in rows}
    for shape in SHAPES:
        one, two = by_key.get(("local", shape)), by_key.get(("two-schedulers", shape))
        if one and two:
            out.append(
                {
                    "target": f"two schedulers no slower than one ({shape})",
                    "measured": f"{two['execution_tasks_per_s']:.0f}/s against "
                    f"{one['execution_tasks_per_s']:.0f}/s",
                    # Within the noise of the median of a few runs on a shared machine.
                    "met": two["execution_tasks_per_s"] >= 0.9 * one["execution_tasks_per_s"],
                }
            )
    return out


def report(result: dict[str, Any]) -> None:
    m = result["machine"]
    print(
        f"headwater {result['headwater_version']} | {m['nproc']} CPUs ({m['cpu']}) | "
        f"{m['date']} | load at start {m['loadavg_at_start']}, at end {m['loadavg_at_end']}"
    )
    print(
        f"medians of {result['repeat']} rounds; {result['kind']} tasks; database "
        f"{result['database']}; broker {result['broker']}; local parallelism "
        f"{result['parallelism']}, Celery parallelism {result['celery_parallelism']}"
    )
    print_table(
        "Gap: upstream attempt end -> downstream attempt start (fan-out: from the later of that "
        "and a free worker); CPU ms per task: the scheduler, and its children with the extra "
        "processes (Celery workers, the second scheduler)",
        "config|shape|N|exec tasks/s|tasks/s|gap p50 ms|gap p95 ms|CPU sched|CPU others",
        [
            [
                r["config"],
                r["shape"],
                str(r["n"]),
                f"{r['execution_tasks_per_s']:.0f}",
                f"{r['tasks_per_s']:.0f}",
                f"{r['gap_median_s'] * 1000:.1f}",
                f"{r['gap_p95_s'] * 1000:.1f}",
                f"{r.get('scheduler_cpu_s', 0) * 1000 / r['n']:.2f}",
                f"{r.get('other_cpu_s', 0) * 1000 / r['n']:.2f}",
            ]
            for r in result["rows"]
        ],
    )
    if result["verdicts"]:
        print_table(
            "Targets (issue 15)",
            "target|measured|met",
            [[v["target"], v["measured"], "yes" if v["met"] else "NO"] for v in result["verdicts"]],
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--configs",
        type=lambda text: text.split(","),
        default=None,
        help="a comma list of local, celery-N, two-schedulers; default: local and celery-N "
        "for each --celery-processes, and two-schedulers with --postgres",
    )
    parser.add_argument("--celery-processes", type=parse_ints, default=[1, 2, 4], help="1,2,4")
    parser.add_argument(
        "--shapes", type=lambda text: parse_list(text, SHAPES), default=list(SHAPES)
    )
    parser.add_argument("--kind", choices=KINDS, default="empty", help="empty (default) or task")
    parser.add_argument("--fanout-size", type=int, default=DEFAULT_SIZES["fanout"])
    parser.add_argument("--chain-size", type=int, default=DEFAULT_SIZES["chain"])
    parser.add_argument(
        "--parallelism",
        type=int,
        default=usable_cpus(),
        help=f"local workers per scheduler; default: the CPUs ({usable_cpus()})",
    )
    parser.add_argument(
        "--celery-parallelism",
        type=int,
        default=16,
        help="attempts the scheduler keeps queued or running through Celery; 16",
    )
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/9", help="the broker URL")
    parser.add_argument(
        "--result-backend", default="redis://127.0.0.1:6379/10", help="the result backend URL"
    )
    parser.add_argument("--postgres", metavar="URL", default=None, help="PostgreSQL server URL")
    parser.add_argument("--repeat", type=int, default=2, help="rounds (median); 2")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds before the trigger")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a run may take")
    parser.add_argument("--idle-below", type=float, default=10.0, help="%% busy; 10")
    parser.add_argument("--idle-wait", type=float, default=20.0, help="seconds; 20")
    parser.add_argument(
        "--dag-processor",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the scheduler with its DAG processor child (its default)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-warmup", action="store_true", help="skip the warm-up run")
    add_work_root_option(parser, "the homes (database, DAG file, task logs)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--from-json", metavar="FILE", default=None)
    args = parser.parse_args(argv)
    if args.configs is None:
        args.configs = ["local", *(f"celery-{n}" for n in args.celery_processes)]
        if args.postgres:
            args.configs.append("two-schedulers")
    for config in args.configs:
        valid = config in ("local", "two-schedulers") or (
            config.startswith("celery-") and config.removeprefix("celery-").isdigit()
        )
        if not valid:
            parser.error(f"--configs: unknown configuration {config!r}")
        if config == "two-schedulers" and not args.postgres:
            parser.error("two-schedulers needs --postgres (SQLite allows one scheduler)")
    if args.repeat < 1 or args.parallelism < 1 or args.celery_parallelism < 1:
        parser.error("--repeat, --parallelism and --celery-parallelism must be >= 1")
    # What scheduler_end_to_end.run_point reads besides these.
    args.loop_interval = None
    args.queued_ahead = None
    return args


def run_benchmark(args: argparse.Namespace, progress: Callable[[str], None]) -> dict[str, Any]:
    import headwater

    phase = random.Random(args.seed)
    points = [(config, shape) for config in args.configs for shape in args.shapes]
    with work_folder(args.tmp, "headwater-scale-") as work:
        started = time.perf_counter()
        result: dict[str, Any] = {
            "machine": machine_info(date=datetime.now(UTC).isoformat(timespec="seconds")),
            "headwater_version": headwater.__version__,
            "command": command_line(),
            "kind": args.kind,
            "repeat": args.repeat,
            "parallelism": args.parallelism,
            "celery_parallelism": args.celery_parallelism,
            "broker": args.broker,
            "database": "PostgreSQL" if args.postgres else "SQLite",
            "fs_probe": fs_probe_start(work),
        }
        if not args.no_warmup:
            progress(f"warm-up run ({points[-1][0]}, {points[-1][1]})...")
            run_config(*points[-1], work, args, phase)
        runs: dict[tuple[str, str], list[dict[str, Any]]] = {p: [] for p in points}
        for number in range(1, args.repeat + 1):
            for config, shape in points:
                run = run_config(config, shape, work, args, phase)
                runs[(config, shape)].append(run)
                progress(
                    f"  round {number}/{args.repeat} {config:>14} {shape:>6}: "
                    f"{run['execution_tasks_per_s']:.0f} exec tasks/s"
                )
        fs_probe_end(result["fs_probe"], work)
    result["rows"] = [aggregate(config, shape, runs[(config, shape)]) for config, shape in points]
    result["verdicts"] = verdicts(result["rows"], args.broker)
    result["machine"]["loadavg_at_end"] = loadavg()
    result["benchmark_wall_s"] = time.perf_counter() - started
    return result


def main() -> None:
    benchmark_main(parse_args, run_benchmark, report)


if __name__ == "__main__":
    main()
