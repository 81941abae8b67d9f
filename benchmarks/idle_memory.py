"""How much memory does an idle ``headwater standalone`` take, in how many processes?

It starts ``headwater standalone --quiet`` (the ``headwater`` command next to this
interpreter, or ``python -m headwater``) on a fresh ``HEADWATER_HOME`` in the work folder
(``--tmp``) with the repository's ``examples`` folder as its DAG folder. New DAGs start
paused (``scheduler.dags_are_paused_at_creation``), so no task runs: this measures what
headwater costs while it waits.

It waits until the process tree is idle: at least ``--settle`` seconds after the start, the
first scans done (no DAG-file import running) and the set of processes unchanged for three
seconds in a row. Then it reads, for every process of the tree (the standalone process and
its descendants, found through ``/proc/<pid>/stat``), the proportional set size (PSS, shared
pages split among the processes that share them, so the figures add up) and the resident
size from ``/proc/<pid>/smaps_rollup``. Last, it stops the command with SIGINT and reports
how long the whole tree took to end and whether any process of it was left (those are
killed).

Linux only (``/proc``). A benchmark, not a test: it asserts nothing.

    .venv/bin/python benchmarks/idle_memory.py
    .venv/bin/python benchmarks/idle_memory.py --settle 20 --json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import add_work_root_option, clean_env, machine_info, work_folder

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
STOP_WAIT_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settle", type=float, default=8.0, help="seconds to wait at least")
    parser.add_argument("--max-wait", type=float, default=120.0, help="give up after this")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    add_work_root_option(parser, "the HEADWATER_HOME")
    args = parser.parse_args()
    with work_folder(args.tmp, "headwater-idle-") as work:
        result = measure(work, settle_s=args.settle, max_wait_s=args.max_wait)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result)


def command() -> list[str]:
    script = Path(sys.executable).with_name("headwater")
    if script.exists():
        return [str(script), "standalone", "--quiet"]
    return [sys.executable, "-m", "headwater", "standalone", "--quiet"]


def measure(work: Path, *, settle_s: float, max_wait_s: float) -> dict[str, Any]:
    env = clean_env(work / "home")
    env["HEADWATER_DAGS_FOLDER"] = str(EXAMPLES)
    env["HEADWATER__SCHEDULER__DAGS_ARE_PAUSED_AT_CREATION"] = "true"
    began = time.monotonic()
    with open(work / "output.txt", "wb") as output:
        root = subprocess.Popen(
            command(), env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        processes = wait_idle(root, began, settle_s=settle_s, max_wait_s=max_wait_s)
        waited = time.monotonic() - began
        memory = [dict(p, **smaps(p["pid"])) for p in processes]
        stop_began = time.monotonic()
        root.send_signal(signal.SIGINT)
        try:
            code = root.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            code = None
        left = [p for p in processes if alive(p["pid"])]
        stop_s = time.monotonic() - stop_began
    finally:
        for pid in [root.pid, *descendants(root.pid)]:
            kill(pid)
        if root.poll() is None:
            root.kill()
            root.wait()
    return {
        "machine": machine_info(),
        "command": " ".join(command()),
        "waited_s": round(waited, 1),
        "processes": memory,
        "pss_mb": round(sum(p["pss_mb"] for p in memory), 1),
        "rss_mb": round(sum(p["rss_mb"] for p in memory), 1),
        "count": len(memory),
        "stop_s": round(stop_s, 2),
        "exit_code": code,
        "left_behind": [p["pid"] for p in left],
        "output_tail": (work / "output.txt").read_text(errors="replace")[-2000:],
    }


def wait_idle(
    root: subprocess.Popen[bytes], began: float, *, settle_s: float, max_wait_s: float
) -> list[dict[str, Any]]:
    """The processes of the tree once it has been steady for three seconds."""
    steady_since = time.monotonic()
    last: set[int] = set()
    while True:
        if root.poll() is not None:
            raise SystemExit(f"headwater standalone exited with code {root.returncode}")
        tree = [describe(pid) for pid in [root.pid, *descendants(root.pid)]]
        tree = [p for p in tree if p is not None]
        pids = {p["pid"] for p in tree}
        parsing = any("parse_file" in p["command"] for p in tree)
        now = time.monotonic()
        if pids != last or parsing:
            last, steady_since = pids, now
        if now - began >= settle_s and now - steady_since >= 3.0:
            return tree
        if now - began > max_wait_s:
            raise SystemExit(f"the process tree was not idle after {max_wait_s:g} s")
        time.sleep(0.25)


def descendants(root: int) -> list[int]:
    """Every process below ``root``, by parent pid, found in ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            ppid = int(stat.rpartition(b")")[2].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def describe(pid: int) -> dict[str, Any] | None:
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    text = " ".join(a.decode(errors="replace") for a in argv if a)
    return {"pid": pid, "name": name, "command": text[:120]}


def smaps(pid: int) -> dict[str, float]:
    """PSS and RSS in MB, from ``/proc/<pid>/smaps_rollup`` (zero for a process gone)."""
    values = {"pss_mb": 0.0, "rss_mb": 0.0}
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return values
    for line in lines:
        key, _, rest = line.partition(":")
        if key in ("Pss", "Rss"):
            values[f"{key.lower()}_mb"] = round(int(rest.split()[0]) / 1024, 1)
    return values


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] not in "ZX"
    except OSError:
        return False


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def report(result: dict[str, Any]) -> None:
    print(f"command: {result['command']}  (idle after {result['waited_s']} s)")
    width = max(len(p["command"]) for p in result["processes"])
    width = min(width, shutil.get_terminal_size().columns - 30)
    for p in result["processes"]:
        print(
            f"  {p['pid']:>7}  {p['pss_mb']:7.1f} MB PSS  {p['rss_mb']:7.1f} MB RSS  "
            f"{p['command'][:width]}"
        )
    print(
        f"idle: {result['count']} processes, {result['pss_mb']:.1f} MB PSS in all "
        f"({result['rss_mb']:.1f} MB RSS)"
    )
    left = result["left_behind"]
    print(
        f"SIGINT: exit code {result['exit_code']} after {result['stop_s']:.2f} s; "
        + (f"{len(left)} process(es) left behind (killed): {left}" if left else "nothing left")
    )


if __name__ == "__main__":
    main()
