"""How many of Airflow's own example DAG files run on headwater unmodified?

Downloads three wheels with ``pip download --no-deps`` (apache-airflow-core 3.3,
apache-airflow-providers-standard 1.21 and apache-airflow 2.10; or takes them from
``--wheels DIR``), unpacks their ``example_dags`` folders and runs every DAG of every DAG file
in them (119 files: the helper folders ``libs/``, ``plugins/``, ``subdags/`` and ``sql/`` are
not DAG files) through ``headwater dags test DAG_ID --folder FILE -q``, unmodified, with
``HEADWATER__CORE__AIRFLOW_COMPAT=true`` and a time limit per run. Each package has a
``HEADWATER_HOME`` whose metadata database holds its example DAGs (``dag-processor --once``
first, as Airflow's ``load_examples``), so a run that triggers another example DAG finds it;
the few files whose docstring runs them with params get that conf (``RUN_CONF``, each with
its reason). A file's DAGs are found first with ``headwater dags list --folder FILE -o json``
(which also reports a file that does not import, with its line).

It prints one line per file (package, file, DAGs, result, seconds, first error line), the
totals, and the EXCEPTED files, those not expected to run anywhere but in Airflow's own
installation (each with a reason a reader can check in the file). A file "runs" when it
imports without error and every DAG of it succeeds; a run still going at ``--timeout`` is
stopped and reported as a timeout (some examples wait on sensors for minutes). Seconds are
each file's ``dags list`` plus its ``dags test`` processes, wall time, with ``--jobs`` files
at once.

A benchmark, not a test: it checks nothing. Stdlib only. It needs the network for the
download unless ``--wheels`` is given.

    .venv/bin/python benchmarks/airflow_examples.py
    .venv/bin/python benchmarks/airflow_examples.py --wheels /tmp/afw --jobs 1 --json > r.json
    .venv/bin/python benchmarks/airflow_examples.py --from-json r.json
    .venv/bin/python benchmarks/airflow_examples.py --wheels /tmp/afw --only example_xcom
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import (
    add_work_root_option,
    benchmark_main,
    clean_env,
    command_line,
    machine_info,
    usable_cpus,
    work_folder,
)

PACKAGES = {
    "apache-airflow-core": "apache-airflow-core==3.3.*",
    "apache-airflow-providers-standard": "apache-airflow-providers-standard==1.21.*",
    "apache-airflow": "apache-airflow==2.10.*",
}
"""The wheels whose example DAGs are run: project name -> pip requirement."""

NOT_DAG_FOLDERS = ("libs", "plugins", "subdags", "sql")
"""Folders of ``example_dags`` that hold helpers, plugins, SQL templates, not DAG files."""

TARGET_FILES = 100
"""The issue's target: at least this many of the 119 files run to success."""

_OFF = "airflow.example_dags"
_K8S_POD = (
    "needs Kubernetes: its tasks' executor_config holds kubernetes.client pod overrides "
    "(from kubernetes.client import models as k8s)"
)
_K8S_QUEUE = (
    "needs Kubernetes: a task on the 'kubernetes' queue of LocalKubernetesExecutor, with "
    "kubernetes.client pod overrides"
)
_OBJECT_STORAGE = (
    "needs a real external system: fetches air-quality data over the internet and writes it "
    "to an S3 bucket (ObjectStoragePath('s3://aws_default@airflow-tutorial-data/'))"
)
_MARKER_CHILD = (
    "waits by design: its child DAG's ExternalTaskSensor waits for the parent DAG's task at "
    "the same logical date, a run that `dags test` of the child alone never makes (Airflow's "
    "neither); it times out after the sensor's 10 minutes"
)
EXCEPTED = {
    "apache-airflow-core/example_kubernetes_executor.py": _K8S_POD,
    "apache-airflow/example_kubernetes_executor.py": _K8S_POD,
    "apache-airflow-core/example_local_kubernetes_executor.py": _K8S_QUEUE,
    "apache-airflow/example_local_kubernetes_executor.py": _K8S_QUEUE,
    "apache-airflow-core/example_failed_dag.py": (
        "fails by design: its only task raises RuntimeError('This is a test exception for "
        "stacktrace rendering')"
    ),
    "apache-airflow-core/example_custom_weight.py": (
        f"its plugin ({_OFF}.plugins.decreasing_priority_weight_strategy) is a custom "
        "priority weight strategy (airflow.task.priority_strategy), which headwater does not "
        "provide"
    ),
    "apache-airflow/example_subdag_operator.py": (
        f"uses SubDagOperator (its sub-DAG made by {_OFF}.subdags.subdag), which Airflow 3 "
        "removed and headwater refuses (use a TaskGroup)"
    ),
    "apache-airflow-core/tutorial_objectstorage.py": _OBJECT_STORAGE,
    "apache-airflow/tutorial_objectstorage.py": _OBJECT_STORAGE,
    "apache-airflow-core/example_dag_decorator.py": (
        "needs a real external system: its get_ip task GETs https://httpbingo.org/get over "
        "the internet"
    ),
    "apache-airflow/example_dag_decorator.py": (
        "needs a real external system: its get_ip task GETs http://httpbin.org/get over the "
        "internet"
    ),
    "apache-airflow-providers-standard/example_external_task_marker_dag.py": _MARKER_CHILD,
    "apache-airflow/example_external_task_marker_dag.py": _MARKER_CHILD,
    "apache-airflow/tutorial_taskflow_templates.py": (
        "fails by design: it renders sql='sql/test.sql', a template file this wheel does not "
        "ship (its sql/ folder holds sample.sql and tutorial_taskflow_template.sql); Airflow "
        "raises TemplateNotFound too"
    ),
    "apache-airflow-providers-standard/example_external_task_parent_deferrable.py": (
        "waits by design: it triggers child_dag with wait_for_completion=True and senses its "
        "task; under `dags test` the triggered run is queued for a scheduler that is not "
        "running (Airflow's `dags test` waits the same way)"
    ),
    "apache-airflow-core/example_retry_policy.py": (
        "needs a real external system: its task GETs https://api.example.com/data over the "
        "internet (offline, the request fails and its 5 retries, a minute apart, are spent "
        "before it fails, in Airflow too)"
    ),
    "apache-airflow-core/example_inlet_event_extra.py": (
        "fails by design under `dags test`: its classic task renders "
        "inlet_events.for_asset(uri='s3://output/1.txt')[-1], the last event of an asset no "
        "run has produced yet (Airflow's strict templates raise the same)"
    ),
    "apache-airflow/example_inlet_event_extra.py": (
        "fails in Airflow 2.10 too: its classic task's template calls Dataset(...), a name "
        "Airflow does not give templates ('Dataset' is undefined)"
    ),
    "apache-airflow-providers-standard/example_hitl_operator.py": (
        "needs a person: its human-in-the-loop operators wait for answers given in Airflow's UI"
    ),
}
"""Files not expected to run outside Airflow's own installation, by ``package/file``, with
the reason (which the file shows). Still run and reported, counted apart."""

_PASSED_PARAMS = (
    "its docstring runs it with params given on the command line "
    '(`airflow tasks test ... -t \'{"foo":"bar"}\'`); without them its templates fail, in '
    "Airflow too"
)
_REQUIRED_FIELD = (
    "its 'required_field' Param has no default: a run needs it in its conf (Airflow's "
    "trigger form refuses to start one without it)"
)
RUN_CONF = {
    "apache-airflow-core/example_passing_params_via_test_command.py": (
        {"foo": "bar"},
        _PASSED_PARAMS,
    ),
    "apache-airflow/example_passing_params_via_test_command.py": ({"foo": "bar"}, _PASSED_PARAMS),
    "apache-airflow-core/example_params_ui_tutorial.py": (
        {"required_field": "a required text"},
        _REQUIRED_FIELD,
    ),
    "apache-airflow/example_params_ui_tutorial.py": (
        {"required_field": "a required text"},
        _REQUIRED_FIELD,
    ),
}
"""The conf (``dags test --conf``) given to the runs of a file that needs one, by
``package/file``, with the reason from the file."""


LOADED_EXAMPLES = {
    "apache-airflow-core": ("apache-airflow-core",),
    "apache-airflow-providers-standard": (
        "apache-airflow-core",
        "apache-airflow-providers-standard",
    ),
    "apache-airflow": ("apache-airflow",),
}
"""The example folders whose DAGs are in the database of each package's runs, as Airflow's
``load_examples`` has them: Airflow 3 loads its core examples and its providers' together (the
standard provider's trigger example triggers a core example DAG)."""


# -- the wheels and their example DAG files ------------------------------------------------------


def download_wheels(folder: Path, progress: Callable[[str], None]) -> None:
    """``pip download --no-deps`` the three wheels into ``folder``."""
    progress(f"downloading {', '.join(PACKAGES.values())} into {folder}...")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"),
            *("--dest", str(folder), *PACKAGES.values()),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def find_wheel(folder: Path, project: str) -> Path:
    """The newest wheel of ``project`` (a name like ``apache-airflow-core``) in ``folder``
    that the requirement of :data:`PACKAGES` allows."""
    stem = project.replace("-", "_")
    series = PACKAGES[project].split("==")[1].rstrip("*")
    found = sorted(folder.glob(f"{stem}-{series}*-py3-none-any.whl"))
    if not found:
        sys.exit(f"no {stem}-{series}*.whl in {folder}: download it, or leave --wheels out")
    return found[-1]


def unpack_examples(wheel: Path, into: Path) -> list[Path]:
    """Extract the wheel's ``example_dags`` folder (helpers and SQL templates too) under
    ``into``; return its DAG files, sorted."""
    files = []
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            parts = member.split("/")
            if "example_dags" not in parts[:-1]:
                continue
            archive.extract(member, into)
            inner = parts[parts.index("example_dags") + 1 :]
            if (
                len(inner) == 1
                and inner[0].endswith(".py")
                and inner[0] != "__init__.py"
                and inner[0] not in NOT_DAG_FOLDERS
            ):
                files.append(into / member)
    return sorted(files)


# -- running one file ----------------------------------------------------------------------------

_SUMMARY_ROW = re.compile(r"^\s*│\s*(\S+)\s*│\s*✘ failed\s*│[^│]*│[^│]*│\s*(.*?)\s*│\s*$")


def first_error(output: str) -> str:
    """The first error line of a ``dags test`` that failed: the first failed task and its
    error from the summary table, else the command's own error line, else its last line."""
    lines = output.splitlines()
    for line in lines:
        if match := _SUMMARY_ROW.match(line):
            task, error = match.groups()
            # A long error is cut in the table and written in full after it.
            full = next((x for x in lines if x.startswith(f"{task}: ")), None)
            return f"{task}: {full.removeprefix(f'{task}: ') if full else error}"
    for line in lines:
        if line.startswith("Error: "):
            return line.removeprefix("Error: ")
    shown = [line.strip() for line in lines if line.strip()]
    return shown[-1] if shown else "no output"


def headwater(
    args: list[str], env: dict[str, str], timeout_s: float, cwd: Path | None = None
) -> tuple[Any, str, float]:
    """``python -m headwater ARGS`` (in ``cwd``): (exit code or "timeout", stdout + stderr,
    seconds). It runs in a session of its own: on a timeout the whole session is killed,
    with the processes its tasks started (a sensor's command, a virtualenv's interpreter)."""
    from headwater.executors.process_tree import run_in_own_session

    started = time.perf_counter()
    argv = [sys.executable, "-m", "headwater", *args]
    code, out, err = run_in_own_session(
        argv, env=env, cwd=cwd, timeout_s=timeout_s, kill_leftovers=True
    )
    return "timeout" if code is None else code, out + err, time.perf_counter() - started


def load_examples(folder: Path, home: Path, timeout_s: float) -> str:
    """Store every DAG of the example ``folder`` in the metadata database of ``home`` (as
    Airflow's ``load_examples`` does), so that a run triggering another example DAG
    (``TriggerDagRunOperator``) finds it: ``db migrate`` then ``dag-processor --once``.
    The combined output, for the record."""
    env = clean_env(home) | {
        "HEADWATER__CORE__AIRFLOW_COMPAT": "true",
        "HEADWATER_DAGS_FOLDER": str(folder),
    }
    outputs = []
    for args in (["db", "migrate"], ["dag-processor", "--once", "--quiet"]):
        code, _, _ = headwater(args, env, timeout_s * 4)
        outputs.append(f"{' '.join(args)}: exit {code}")
    return "; ".join(outputs)


def run_file(path: Path, package: str, home: Path, timeout_s: float, root: Path) -> dict[str, Any]:
    """List the DAGs of ``path``, then run each (in ``home``, whose database holds the
    package's example DAGs; from ``root``, the unpacked package, as Airflow's own tests run
    them: one example globs ``airflow/example_dags/*.py`` from the working folder): the
    file's row."""
    env = clean_env(home) | {"HEADWATER__CORE__AIRFLOW_COMPAT": "true"}
    key = f"{package}/{path.name}"
    conf_args = ["--conf", json.dumps(RUN_CONF[key][0])] if key in RUN_CONF else []
    row: dict[str, Any] = {"package": package, "file": path.name, "dags": [], "runs": []}
    code, out, seconds = headwater(
        ["dags", "list", "--folder", str(path), "--output", "json"], env, timeout_s
    )
    row["list_s"] = round(seconds, 3)
    try:
        listing = json.loads(out[out.index("{") :]) if code == 0 else None
    except ValueError:
        listing = None
    if listing is None:
        row |= {"result": "error", "error": first_error(out) if code != "timeout" else "timeout"}
    elif listing["import_errors"]:
        error = listing["import_errors"][0]
        where = f"line {error['line']}: " if error.get("line") else ""
        row |= {"result": "import error", "error": where + error["error"]}
    elif not listing["dags"]:
        row |= {"result": "no DAGs", "error": "the file defines no DAG"}
    else:
        row["dags"] = [d["dag_id"] for d in listing["dags"]]
    for dag_id in row["dags"]:
        code, out, seconds = headwater(
            ["dags", "test", dag_id, "--folder", str(path), "-q", *conf_args],
            env,
            timeout_s,
            cwd=root,
        )
        run: dict[str, Any] = {"dag_id": dag_id, "seconds": round(seconds, 3)}
        if code == 0:
            run["result"] = "success"
        elif code == "timeout":
            run |= {"result": "timeout", "error": f"still running after {timeout_s:g} s"}
        else:
            run |= {"result": "failed", "error": first_error(out)}
        row["runs"].append(run)
    if "result" not in row:
        failed = [r for r in row["runs"] if r["result"] != "success"]
        row["result"] = failed[0]["result"] if failed else "success"
        if failed:
            row["error"] = f"{failed[0]['dag_id']}: {failed[0]['error']}"
    row["seconds"] = round(row["list_s"] + sum(r["seconds"] for r in row["runs"]), 3)
    if key in RUN_CONF:
        row["conf"] = RUN_CONF[key][0]
    if key in EXCEPTED:
        row["excepted"] = EXCEPTED[key]
    return row


def print_table(title: str, headers: str, rows: list[list[str]]) -> None:
    """A plain-text table, every column left-aligned (they hold names and messages)."""
    names = headers.split("|")
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(names)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    print(f"\n{title}")
    print(line(names))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))


# -- the benchmark -------------------------------------------------------------------------------


def run_benchmark(args: argparse.Namespace, progress: Callable[[str], None]) -> dict[str, Any]:
    import headwater

    started = time.perf_counter()
    with work_folder(args.tmp, "headwater-airflow-examples-") as work:
        wheels = Path(args.wheels) if args.wheels else work / "wheels"
        if not args.wheels:
            wheels.mkdir()
            download_wheels(wheels, progress)
        files: list[tuple[str, Path]] = []
        folders: dict[str, Path] = {}
        for project in PACKAGES:
            wheel = find_wheel(wheels, project)
            unpacked = unpack_examples(wheel, work / "examples" / project)
            folders[project] = unpacked[0].parent
            progress(f"{wheel.name}: {len(unpacked)} DAG files")
            files += [(project, path) for path in unpacked]
        for project, loads in LOADED_EXAMPLES.items():
            shown = work / "loaded" / project  # the example folders a DAG processor would see
            for other in loads:
                shutil.copytree(folders[other], shown / other)
            progress(f"{project}: {load_examples(shown, work / 'homes' / project, args.timeout)}")
        if args.only:
            files = [(p, f) for p, f in files if args.only in f"{p}/{f.name}"]
        rows: list[dict[str, Any]] = []

        def one(item: tuple[int, tuple[str, Path]]) -> dict[str, Any]:
            _, (package, path) = item
            row = run_file(
                path, package, work / "homes" / package, args.timeout, work / "examples" / package
            )
            progress(f"{package}/{path.name}: {row['result']} ({row['seconds']:.1f} s)")
            return row

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            rows = list(pool.map(one, enumerate(files)))
    return {
        "machine": machine_info(date=datetime.now(UTC).isoformat(timespec="seconds")),
        "headwater_version": headwater.__version__,
        "command": command_line(),
        "wheels": [find_wheel(wheels, p).name for p in PACKAGES] if args.wheels else None,
        "timeout_s": args.timeout,
        "jobs": args.jobs,
        "files": rows,
        "benchmark_wall_s": time.perf_counter() - started,
    }


def report(result: dict[str, Any]) -> None:
    rows = result["files"]
    for row in rows:  # this script's table, also for a result saved before it changed
        row.pop("excepted", None)
        if (reason := EXCEPTED.get(f"{row['package']}/{row['file']}")) is not None:
            row["excepted"] = reason
    print(
        f"headwater {result['headwater_version']} | python {result['machine']['python']} | "
        f"{result['machine']['nproc']} CPUs | {result['machine']['date']} | "
        f"timeout {result['timeout_s']:g} s per run | {result['jobs']} file(s) at once"
    )
    print_table(
        "Airflow's example DAG files through `headwater dags test` (unmodified)",
        "package|file|DAGs|result|seconds|first error",
        [
            [
                r["package"],
                r["file"],
                str(len(r["dags"])),
                r["result"] + (" (excepted)" if "excepted" in r else ""),
                f"{r['seconds']:.1f}",
                (r.get("error") or "")[:110],
            ]
            for r in rows
        ],
    )
    excepted = [r for r in rows if "excepted" in r]
    counted = [r for r in rows if "excepted" not in r]
    succeeded = sum(r["result"] == "success" for r in rows)
    succeeded_counted = sum(r["result"] == "success" for r in counted)
    runs = [run for r in rows for run in r["runs"]]
    by_result: dict[str, int] = {}
    for r in rows:
        by_result[r["result"]] = by_result.get(r["result"], 0) + 1
    print("\nTotals")
    print(f"  files: {len(rows)}; ran to success: {succeeded} of {len(rows)}")
    print(
        f"  excepted: {len(excepted)}; of the other {len(counted)}: {succeeded_counted} ran "
        f"to success (target: {TARGET_FILES} of 119 files)"
    )
    print("  results: " + ", ".join(f"{n} {what}" for what, n in sorted(by_result.items())))
    print(
        f"  DAG runs: {sum(run['result'] == 'success' for run in runs)} of {len(runs)} "
        f"succeeded, {sum(run['result'] == 'timeout' for run in runs)} timed out"
    )
    print(f"  seconds: {sum(r['seconds'] for r in rows):.1f} in all, for {len(rows)} files")
    if excepted:
        print_table(
            "EXCEPTED files (not expected to run outside Airflow's own installation)",
            "package/file|result|reason",
            [[f"{r['package']}/{r['file']}", r["result"], r["excepted"]] for r in excepted],
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--wheels",
        metavar="DIR",
        help="a folder that already holds the three wheels (no download)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds one `dags list` or `dags test` may take; 120",
    )
    default_jobs = max(1, min(4, usable_cpus() // 2))
    parser.add_argument(
        "--jobs",
        type=int,
        default=default_jobs,
        help=f"files run at once; default {default_jobs} (1 for undisturbed seconds)",
    )
    parser.add_argument("--only", metavar="TEXT", help="only files whose package/file has TEXT")
    add_work_root_option(parser, "the wheels, the unpacked examples and the homes")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    parser.add_argument("--from-json", metavar="FILE", help="print the tables of a saved --json")
    return parser.parse_args()


def main() -> None:
    os.environ.pop("HEADWATER__CORE__AIRFLOW_COMPAT", None)  # set per run, never inherited
    benchmark_main(parse_args, run_benchmark, report)


if __name__ == "__main__":
    main()
