"""How much does headwater cost per task? ``headwater dags test`` timed as a whole process.

Generates DAG files of N no-op tasks, shaped as a chain (``t0 >> t1 >> ...``) and as a
fan-out (one root ``>>`` N - 1 leaves), made of ``EmptyOperator`` or of a ``@task`` that
returns None, and runs each through ``headwater dags test DAG_ID --folder FILE`` as a fresh
subprocess (with and without ``--quiet``, a fresh ``HEADWATER_HOME`` every run, stdout to a
pipe). It reports the wall time of every run (median of ``--repeat``), seconds per task
(total / N) and the marginal cost of one more task, ``(t(N_max) - t(N_min)) / (N_max -
N_min)``. For reference it also times ``python -c pass``, ``python -c "import headwater"``
and ``headwater --help``, and, in one process (no interpreter start, no CLI output),
``headwater.testing.run_dag(dag)`` on the same DAG shapes. The DAG files and the homes are in
the work folder (``--tmp``; ``~/.cache/headwater-benchmarks`` by default), where it also times
creating a task log folder + file, at the start and at the end (the file-system probe).

A benchmark, not a test: it checks nothing but that every run succeeded. Stdlib only.

    .venv/bin/python benchmarks/dags_test_overhead.py                 # the default grid
    .venv/bin/python benchmarks/dags_test_overhead.py --repeat 5 --json > result.json
    .venv/bin/python benchmarks/dags_test_overhead.py --sizes 10,1000 --kinds empty --modes quiet
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    DAG_TASKS_CODE,
    add_shape_and_kind_options,
    add_work_root_option,
    clean_env,
    command_line,
    dag_file_text,
    fs_probe_end,
    fs_probe_line,
    fs_probe_start,
    machine_info,
    parse_list,
    print_table,
    work_folder,
)

SHAPES = ("chain", "fanout")
MODES = ("quiet", "verbose")

# The targets (seconds), checked in the verdict section.
TARGET_PER_TASK_S = 0.2e-3
TARGET_TEN_TASK_PROCESS_S = 1.0
TARGET_HELP_S = 0.3

# Runs in a child interpreter (the one that has headwater): builds the DAGs in memory, times
# headwater.testing.run_dag on each, prints JSON. argv: sizes (comma list), kinds, shapes, repeat.
IN_PROCESS_CODE = (
    DAG_TASKS_CODE
    + r"""
import json, statistics, sys, time

import headwater
from headwater.testing import run_dag

sizes = [int(s) for s in sys.argv[1].split(",")]
kinds, shapes, repeat = sys.argv[2].split(","), sys.argv[3].split(","), int(sys.argv[4])

def build(n, kind, shape):
    with DAG(f"inproc_{shape}_{kind}_{n}", start_date=datetime(2024, 1, 1, tzinfo=UTC)) as dag:
        add_tasks(n, kind, shape)
    return dag

rows = []
for shape in shapes:
    for kind in kinds:
        for n in sizes:
            started = time.perf_counter()
            dag = build(n, kind, shape)
            built = time.perf_counter() - started
            times = []
            for _ in range(repeat + 1):  # the first run warms caches and is dropped
                started = time.perf_counter()
                result = run_dag(dag)
                times.append(time.perf_counter() - started)
                if not result.succeeded:
                    sys.exit(f"in-process run of {dag.dag_id} did not succeed")
            rows.append({"shape": shape, "kind": kind, "n": n, "build_s": built,
                         "run_s": statistics.median(times[1:]), "runs_s": times[1:]})
print(json.dumps({"version": headwater.__version__, "rows": rows}))
"""
)


def parse_sizes(text: str) -> list[int]:
    sizes = sorted({int(item) for item in parse_list(text)})
    if not sizes or sizes[0] < 2:
        raise argparse.ArgumentTypeError("sizes must be integers >= 2")
    return sizes


def default_headwater() -> str:
    beside = Path(sys.executable).parent / "headwater"
    if beside.exists():
        return str(beside)
    found = shutil.which("headwater")
    if found is None:
        sys.exit("no headwater command found; pass --headwater PATH")
    return found


def timed(
    cmd: list[str], env: dict[str, str], timeout: float, devnull: bool = False
) -> tuple[float, str]:
    """Wall time of ``cmd`` as a whole process, and its stdout ("" when sent to /dev/null).

    stdout goes to a pipe read to the end (or to /dev/null), stderr to a pipe.
    """
    started = time.perf_counter()
    proc = subprocess.run(
        cmd,
        env=env,
        stdout=subprocess.DEVNULL if devnull else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        tail = ((proc.stdout or "") + proc.stderr)[-2000:]
        sys.exit(f"{' '.join(cmd)} exited {proc.returncode}:\n{tail}")
    return elapsed, proc.stdout or ""


def python_info(python: str) -> dict[str, str]:
    """The version and path of ``python``, the interpreter that runs headwater."""
    version, executable = subprocess.run(
        [python, "-c", "import platform, sys; print(platform.python_version(), sys.executable)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {"python": version, "python_executable": executable}


def write_dags(folder: Path, sizes: list[int], shapes: list[str], kinds: list[str]) -> dict:
    """One file per DAG (each run loads only its own file): {(shape, kind, n): (id, path)}."""
    files = {}
    for shape in shapes:
        for kind in kinds:
            for n in sizes:
                dag_id = f"bench_{shape}_{kind}_{n}"
                path = folder / f"{dag_id}.py"
                path.write_text(dag_file_text(dag_id, n, kind, shape))
                files[(shape, kind, n)] = (dag_id, path)
    return files


def reference_times(python: str, headwater: str, work: Path, repeat: int) -> dict[str, dict]:
    env = clean_env(work / "home-ref")
    commands = {
        "python -c pass": [python, "-c", "pass"],
        "python -c 'import headwater'": [python, "-c", "import headwater"],
        "python -c 'import headwater.cli'": [python, "-c", "import headwater.cli"],
        "headwater --help": [headwater, "--help"],
    }
    out = {}
    for name, cmd in commands.items():
        timed(cmd, env, 60)  # warm the file cache and .pyc files
        runs = [timed(cmd, env, 60)[0] for _ in range(max(repeat, 5))]
        out[name] = {"median_s": statistics.median(runs), "min_s": min(runs), "runs_s": runs}
    return out


def dags_test_times(
    headwater: str,
    files: dict,
    modes: list[str],
    work: Path,
    repeat: int,
    progress: bool,
    devnull: bool,
) -> list[dict]:
    """Median wall time of each ``dags test`` configuration, repeats interleaved round-robin."""
    configs = [(key, mode) for key in files for mode in modes]
    runs: dict[tuple, list[float]] = {config: [] for config in configs}
    summary_line: dict[tuple, str] = {}
    for round_number in range(repeat + 1):  # round 0 warms .pyc files and is dropped
        for config in configs:
            (shape, kind, n), mode = config
            dag_id, path = files[(shape, kind, n)]
            home = Path(tempfile.mkdtemp(prefix="home-", dir=work))
            cmd = [headwater, "dags", "test", dag_id, "--folder", str(path)]
            if mode == "quiet":
                cmd.append("--quiet")
            # Homes are deleted only at the end: on this machine's ext4 (mounted with
            # "discard"), deleting a tree of log folders slows the runs that follow it.
            elapsed, stdout = timed(cmd, clean_env(home), 600, devnull)
            lines = stdout.strip().splitlines() or [""]
            if not devnull and "succeeded" not in lines[-1]:
                sys.exit(f"{' '.join(cmd)}: no success line in its output:\n{stdout[-2000:]}")
            if round_number:
                runs[config].append(elapsed)
                summary_line[config] = lines[-1]
        if progress:
            print(f"  dags test round {round_number}/{repeat} done", file=sys.stderr)
    rows = []
    for config in configs:
        (shape, kind, n), mode = config
        median = statistics.median(runs[config])
        rows.append(
            {
                "shape": shape,
                "kind": kind,
                "n": n,
                "mode": mode,
                "median_s": median,
                "min_s": min(runs[config]),
                "runs_s": runs[config],
                "per_task_s": median / n,
                "reported": summary_line[config],
                "cli_reported_s": reported_seconds(summary_line[config]),
            }
        )
    return rows


def marginal(rows: list[dict], value: str, group: tuple[str, ...]) -> list[dict]:
    """Per group, the cost of one more task between the smallest and the largest N."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[g] for g in group), []).append(row)
    out = []
    for key, members in groups.items():
        members.sort(key=lambda r: r["n"])
        low, high = members[0], members[-1]
        if high["n"] == low["n"]:
            continue
        slope = (high[value] - low[value]) / (high["n"] - low["n"])
        out.append(
            {**dict(zip(group, key, strict=True)), "from_n": low["n"], "to_n": high["n"]}
            | {"per_task_s": slope, "intercept_s": low[value] - slope * low["n"]}
        )
    return out


def memory_folder() -> Path | None:
    """A folder on a memory file system (tmpfs) for task logs, if this machine has one."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


def in_process_times(python: str, args: argparse.Namespace, work: Path) -> dict:
    cmd = [
        python,
        "-c",
        IN_PROCESS_CODE,
        ",".join(str(n) for n in args.sizes),
        ",".join(args.kinds),
        ",".join(args.shapes),
        str(args.repeat),
    ]
    env = clean_env(work / "home-inproc")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        sys.exit(f"in-process benchmark failed:\n{proc.stderr[-3000:]}")
    data = json.loads(proc.stdout)
    for row in data["rows"]:
        row["per_task_s"] = row["run_s"] / row["n"]
    return data


def reported_seconds(line: str) -> float | None:
    """The run time the CLI printed itself ("DAG x succeeded in 540 ms" / "in 1.23 s")."""
    words = line.split()
    try:
        value, unit = float(words[-2]), words[-1]
    except (IndexError, ValueError):
        return None
    return {"ms": value / 1000, "s": value}.get(unit)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}" if seconds < 0.01 else f"{seconds * 1000:.1f}"


def verdict(target: str, measured_s: float, limit_s: float, detail: str) -> dict:
    """One target of the issue: the measured figure, and whether (by what ratio) it is met."""
    return {
        "target": target,
        "measured_s": measured_s,
        "limit_s": limit_s,
        "detail": detail,
        "met": measured_s < limit_s,
        "ratio": measured_s / limit_s,
    }


def verdicts(result: dict) -> list[dict]:
    """Each target of the issue, the measured figure, and whether it is met."""
    out = []
    # The engine's own cost: task logs in memory when possible, so the disk does not count
    # (the file-system probe shows what a log folder + file costs on the work folder's disk).
    inproc = result.get("in_process_memory_logs_marginal") or result.get("in_process_marginal")
    on_tmpfs = result.get("in_process_memory_logs_marginal") or result["tmp"].startswith("/dev/shm")
    where = "logs on tmpfs" if on_tmpfs else "logs on disk"
    if inproc:
        worst = max(inproc, key=lambda m: m["per_task_s"])
        out.append(
            verdict(
                f"engine overhead < 0.2 ms/task (in-process marginal, {where}, worst shape/kind)",
                worst["per_task_s"],
                TARGET_PER_TASK_S,
                f"{worst['shape']}/{worst['kind']}",
            )
        )
    quiet = [m for m in result["dags_test_marginal"] if m["mode"] == "quiet"]
    if quiet:
        worst = max(quiet, key=lambda m: m["per_task_s"])
        out.append(
            verdict(
                "per-task cost < 0.2 ms/task (whole `dags test --quiet`, marginal)",
                worst["per_task_s"],
                TARGET_PER_TASK_S,
                f"{worst['shape']}/{worst['kind']}",
            )
        )
    ten = [r for r in result["dags_test"] if r["n"] == 10]
    if ten:
        worst = max(ten, key=lambda r: r["median_s"])
        out.append(
            verdict(
                "10-task `dags test`, start to exit < 1 s (slowest shape/kind/mode)",
                worst["median_s"],
                TARGET_TEN_TASK_PROCESS_S,
                f"{worst['shape']}/{worst['kind']}/{worst['mode']}",
            )
        )
    out.append(
        verdict(
            "`headwater --help` < 0.3 s",
            result["reference"]["headwater --help"]["median_s"],
            TARGET_HELP_S,
            "",
        )
    )
    return out


def report(result: dict) -> None:
    m = result["machine"]
    print(
        f"headwater {result.get('headwater_version', '?')} | python {m['python']} | "
        f"{m['nproc']} CPUs ({m['cpu']}) | {m['platform']} | load at start {m['loadavg_at_start']}"
    )
    print(
        f"medians of {result['repeat']} runs (after one warm-up run); times in ms; "
        f"DAG files and HEADWATER_HOME (task logs) under {result['tmp']}"
    )
    print(fs_probe_line(result["fs_probe"]))

    ref = result["reference"]
    print_table(
        "Reference commands (whole process)",
        ["command", "median ms", "min ms"],
        [[name, ms(r["median_s"]), ms(r["min_s"])] for name, r in ref.items()],
    )

    def cli_says(r: dict) -> str:
        return "-" if r["cli_reported_s"] is None else ms(r["cli_reported_s"])

    print_table(
        f"`headwater dags test` as a whole process (stdout to {result['stdout']}); 'CLI says' = "
        "the time it prints itself: DAG load + run + per-task lines, not start-up or summary",
        ["shape", "kind", "N", "mode", "median ms", "min ms", "ms/task (total/N)", "CLI says ms"],
        [
            [
                *(r["shape"], r["kind"], str(r["n"]), r["mode"]),
                *(ms(r["median_s"]), ms(r["min_s"]), ms(r["per_task_s"]), cli_says(r)),
            ]
            for r in result["dags_test"]
        ],
    )
    print_table(
        "`dags test` marginal cost of one more task: (t(N_max) - t(N_min)) / (N_max - N_min)",
        ["shape", "kind", "mode", "N range", "ms/task", "fixed ms"],
        [
            [
                *(r["shape"], r["kind"], r["mode"], f"{r['from_n']}-{r['to_n']}"),
                *(ms(r["per_task_s"]), ms(r["intercept_s"])),
            ]
            for r in result["dags_test_marginal"]
        ],
    )
    if "in_process" in result:
        print_table(
            "In one process: build the DAG, then headwater.testing.run_dag(dag) (no CLI)",
            ["shape", "kind", "N", "build ms", "run ms", "run ms/task"],
            [
                [
                    *(r["shape"], r["kind"], str(r["n"])),
                    *(ms(r["build_s"]), ms(r["run_s"]), ms(r["per_task_s"])),
                ]
                for r in result["in_process"]
            ],
        )
        print_table(
            "In-process marginal cost of one more task (run_dag only)",
            ["shape", "kind", "N range", "ms/task", "fixed ms"],
            [
                [
                    *(r["shape"], r["kind"], f"{r['from_n']}-{r['to_n']}"),
                    *(ms(r["per_task_s"]), ms(r["intercept_s"])),
                ]
                for r in result["in_process_marginal"]
            ],
        )
    if "in_process_memory_logs_marginal" in result:
        print_table(
            "In-process marginal cost, task logs on tmpfs (the engine without the disk)",
            ["shape", "kind", "N range", "ms/task", "fixed ms"],
            [
                [
                    *(r["shape"], r["kind"], f"{r['from_n']}-{r['to_n']}"),
                    *(ms(r["per_task_s"]), ms(r["intercept_s"])),
                ]
                for r in result["in_process_memory_logs_marginal"]
            ],
        )
    print_table(
        "Targets (from the issue)",
        ["target", "measured ms", "limit ms", "x limit", "met", "where"],
        [
            [
                *(v["target"], ms(v["measured_s"]), ms(v["limit_s"]), f"{v['ratio']:.2f}"),
                *("yes" if v["met"] else "NO", v["detail"]),
            ]
            for v in result["verdicts"]
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[10, 100, 1000], help="10,100,1000")
    add_shape_and_kind_options(parser, SHAPES)
    parser.add_argument(
        "--modes",
        type=lambda t: parse_list(t, MODES),
        default=list(MODES),
        help="quiet (--quiet), verbose (task logs printed); default both",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per point (median); 3")
    parser.add_argument("--headwater", default=None, help="the CLI; default: beside this python")
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter with headwater (reference runs)"
    )
    add_work_root_option(
        parser, "the DAG files and the HEADWATER_HOMEs (task logs are written there)"
    )
    parser.add_argument(
        "--stdout",
        choices=["pipe", "devnull"],
        default="pipe",
        help="where `dags test` writes: a pipe read to the end (default), or /dev/null",
    )
    parser.add_argument("--no-in-process", action="store_true", help="skip the run_dag timing")
    parser.add_argument("--keep", action="store_true", help="keep the generated DAG files")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    headwater = args.headwater or default_headwater()
    progress = not args.json

    with work_folder(args.tmp, "headwater-bench-") as work:
        started = time.perf_counter()
        result: dict = {
            "machine": machine_info(**python_info(args.python)),
            "command": command_line(),
            "headwater": headwater,
            "repeat": args.repeat,
            "stdout": args.stdout,
            "tmp": str(work.parent),
            "sizes": args.sizes,
            "fs_probe": fs_probe_start(work),
        }
        if progress:
            print("timing reference commands...", file=sys.stderr)
        result["reference"] = reference_times(args.python, headwater, work, args.repeat)
        dag_folder = work / "dags"
        dag_folder.mkdir()
        files = write_dags(dag_folder, args.sizes, args.shapes, args.kinds)
        if progress:
            print(f"timing {len(files) * len(args.modes)} `dags test` runs...", file=sys.stderr)
        rows = dags_test_times(
            headwater, files, args.modes, work, args.repeat, progress, args.stdout == "devnull"
        )
        result["dags_test"] = rows
        result["dags_test_marginal"] = marginal(rows, "median_s", ("shape", "kind", "mode"))
        if not args.no_in_process:
            if progress:
                print("timing run_dag in one process...", file=sys.stderr)
            data = in_process_times(args.python, args, work)
            result["headwater_version"] = data["version"]
            result["in_process"] = data["rows"]
            result["in_process_marginal"] = marginal(data["rows"], "run_s", ("shape", "kind"))
            memory = memory_folder()
            if memory is not None and not str(work).startswith(str(memory)):
                if progress:
                    print("timing run_dag again, task logs on tmpfs...", file=sys.stderr)
                with work_folder(str(memory), "headwater-bench-") as in_memory:
                    rows = in_process_times(args.python, args, in_memory)["rows"]
                result["in_process_memory_logs"] = rows
                result["in_process_memory_logs_marginal"] = marginal(
                    rows, "run_s", ("shape", "kind")
                )
        fs_probe_end(result["fs_probe"], work)
        result["verdicts"] = verdicts(result)
        result["benchmark_wall_s"] = time.perf_counter() - started
        if args.keep:
            kept = Path(tempfile.mkdtemp(prefix="headwater-bench-dags-"))
            shutil.copytree(dag_folder, kept, dirs_exist_ok=True)
            result["dag_files"] = str(kept)

    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result)
        print(f"\nbenchmark took {result['benchmark_wall_s']:.1f} s")
        if args.keep:
            print(f"DAG files kept in {result['dag_files']}")


if __name__ == "__main__":
    main()
