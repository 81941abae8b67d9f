"""What does the LocalExecutor cost per attempt? No-op attempts through the worker pool.

For each parallelism (1, 2 and 4 by default) it queues N no-op attempts at once and polls
until all came back, and reports attempts per second and the dispatch-to-result latency of
each attempt (from ``prepare()``, right before the payload goes down a worker's pipe, to
``poll()`` returning its outcome): median and p95, from the median of ``--repeat`` rounds
on a warm pool. One more row sends attempts one at a time (the bare round trip). A second
table compares the start methods: the time from ``start()`` until every worker of a pool
ran an attempt (for the first pool, the fork server's own start included), and the time per
attempt with ``max_tasks_per_worker=1``, which starts a fresh worker for every attempt.

A benchmark, not a test: it checks nothing but that every attempt succeeded. Stdlib only.
Each worker imports this file (the worker function is ``noop`` below, and Python 3.11's fork
server also makes every worker run the main script again), so its top level stays light.

    .venv/bin/python benchmarks/local_executor_overhead.py
    .venv/bin/python benchmarks/local_executor_overhead.py --attempts 5000 --parallelism 1,8
    .venv/bin/python benchmarks/local_executor_overhead.py --json > result.json
"""

from __future__ import annotations

import sys
import time
from typing import Any

from headwater.engine.records import AttemptOutcome, TaskInstanceKey
from headwater.engine.states import TaskInstanceState
from headwater.executors.local import Dispatch, LocalExecutor, WorkerInfo

WORKER_FUNCTION = f"{__file__.rpartition('/')[2].removesuffix('.py')}:noop"
"""This file, imported by name in the workers (its folder is on their sys.path)."""


def noop(payload: Any) -> AttemptOutcome:
    return AttemptOutcome(TaskInstanceState.SUCCESS)


class Bench:
    """One executor, and the dispatch time of every attempt."""

    def __init__(self, parallelism: int, **options: Any) -> None:
        self.dispatched: dict[TaskInstanceKey, float] = {}
        self.executor = LocalExecutor(
            parallelism=parallelism,
            worker_function=WORKER_FUNCTION,
            prepare=self.prepare,
            **options,
        )

    def prepare(self, key: TaskInstanceKey, worker: WorkerInfo) -> Dispatch:
        self.dispatched[key] = time.perf_counter()
        return Dispatch(payload=None, timeout_s=None)

    def run(self, count: int, *, batch: bool) -> tuple[float, list[float]]:
        """Seconds for ``count`` attempts, and each attempt's dispatch-to-result latency."""
        keys = [TaskInstanceKey("bench", "run", f"t{i}") for i in range(count)]
        latencies: list[float] = []
        start = time.perf_counter()
        if batch:
            for key in keys:
                self.executor.queue(key)
            latencies += self._collect(count)
        else:
            for key in keys:
                self.executor.queue(key)
                latencies += self._collect(1)
        return time.perf_counter() - start, latencies

    def _collect(self, count: int) -> list[float]:
        latencies = []
        while len(latencies) < count:
            finished = self.executor.poll(timeout=10.0)
            now = time.perf_counter()
            if not finished:
                raise SystemExit("no outcome in 10 s: the executor is stuck")
            for key, outcome in finished:
                if outcome.state is not TaskInstanceState.SUCCESS:
                    raise SystemExit(f"{key.task_id} did not succeed: {outcome.error}")
                latencies.append(now - self.dispatched.pop(key))
        return latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def throughput(parallelism: int, attempts: int, *, batch: bool, repeat: int) -> dict[str, Any]:
    """The median of ``repeat`` rounds (by wall time) on one warm pool."""
    import statistics

    bench = Bench(parallelism)
    bench.executor.start()
    try:
        bench.run(min(attempts, 200), batch=batch)  # warm-up: imports, caches
        rounds = sorted(
            (bench.run(attempts, batch=batch) for _ in range(repeat)), key=lambda r: r[0]
        )
    finally:
        bench.executor.stop()
    elapsed, latencies = rounds[len(rounds) // 2]
    return {
        "parallelism": parallelism,
        "mode": "batch" if batch else "one at a time",
        "attempts": attempts,
        "attempts_per_s": attempts / elapsed,
        "median_ms": statistics.median(latencies) * 1e3,
        "p95_ms": percentile(latencies, 0.95) * 1e3,
    }


def start_methods(parallelism: int, recycled: int) -> list[dict[str, Any]]:
    """Per start method: the time from ``start()`` until ``parallelism`` workers each ran an
    attempt (the fork server's first start included), and the cost of one worker start."""
    rows = []
    for method in ("forkserver", "spawn"):
        bench = Bench(parallelism, start_method=method)
        began = time.perf_counter()
        bench.executor.start()
        try:
            bench.run(parallelism, batch=True)
            ready = time.perf_counter() - began
            again = time.perf_counter()
            bench.executor.stop()
            bench = Bench(parallelism, start_method=method)
            bench.executor.start()
            bench.run(parallelism, batch=True)
            ready_again = time.perf_counter() - again
        finally:
            bench.executor.stop()
        fresh = Bench(1, start_method=method, max_tasks_per_worker=1)
        fresh.executor.start()
        try:
            elapsed, _ = fresh.run(recycled, batch=True)
        finally:
            fresh.executor.stop()
        rows.append(
            {
                "start_method": method,
                "parallelism": parallelism,
                "first_pool_ready_ms": ready * 1e3,
                "next_pool_ready_ms": ready_again * 1e3,
                "recycled_attempts_per_s": recycled / elapsed,
                "ms_per_fresh_worker_attempt": elapsed / recycled * 1e3,
            }
        )
    return rows


def main() -> None:
    import argparse
    import json
    import os
    import platform

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=2000, help="no-op attempts per round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per point (median shown)")
    parser.add_argument("--parallelism", default="1,2,4", help="comma-separated pool sizes")
    parser.add_argument("--recycled", type=int, default=50, help="attempts, a fresh worker each")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    sizes = [int(p) for p in args.parallelism.split(",")]

    # Start methods first: the fork server's first start is part of what they measure.
    methods = start_methods(max(sizes), args.recycled)
    rows = [throughput(p, args.attempts, batch=True, repeat=args.repeat) for p in sizes]
    rows.append(throughput(1, max(args.attempts // 4, 1), batch=False, repeat=args.repeat))
    if args.json:
        print(json.dumps({"throughput": rows, "start_methods": methods}, indent=2))
        return

    print(
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs"
    )
    print()
    print(
        f"{'parallelism':>11}  {'mode':<13}  {'attempts':>8}  {'attempts/s':>10}  "
        f"{'median ms':>9}  {'p95 ms':>7}"
    )
    for row in rows:
        print(
            f"{row['parallelism']:>11}  {row['mode']:<13}  {row['attempts']:>8}  "
            f"{row['attempts_per_s']:>10.0f}  {row['median_ms']:>9.3f}  {row['p95_ms']:>7.3f}"
        )
    print()
    size = methods[0]["parallelism"]
    print(
        f"{'start method':<12}  {f'first pool of {size} ready':>21}  "
        f"{f'next pool of {size} ready':>20}  {'fresh worker per attempt':>24}"
    )
    for row in methods:
        print(
            f"{row['start_method']:<12}  {row['first_pool_ready_ms']:>18.0f} ms  "
            f"{row['next_pool_ready_ms']:>17.0f} ms  "
            f"{row['ms_per_fresh_worker_attempt']:>21.1f} ms"
        )


if __name__ == "__main__":
    sys.exit(main())
