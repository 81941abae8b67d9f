"""``headwater airflow check``'s logic: which files of a DAG folder run on headwater unchanged,
and for each one that does not, the construct and the line that stops it.

Every candidate file (:func:`~headwater.loading.dagbag.iter_dag_files` with Airflow's
"mentions dag and airflow" heuristic and headwater's own) is imported the way the DAG
processor imports it: ``python -m headwater.dag_processing.parse_file`` in a child process of
its own, within a time limit, with ``[core] airflow_compat`` on. One file's import can thus
neither break nor slow another's, and what is reported is what the scheduler would see (a
DAG that cannot be stored included). Each import error is explained
(:func:`explain_error`): the file's line and its source, and what it is (an Airflow module
or name headwater does not provide, an unknown operator argument, a naive date, a syntax
error, an exception's type and message). A file that loads may still use names Airflow
itself deprecated (``schedule_interval=``, ``DummyOperator``, ``airflow.operators.bash_operator``):
each is a :class:`FileNote` at its line, naming the replacement; notes never fail the check.

With ``run``, every DAG that loaded is then run once, in a child process with a time limit
(:mod:`headwater.services.airflow_check_child`), through what ``headwater dags test`` runs
(:func:`~headwater.dag_test.run_dag_in_process`); its result names the first failed task and
its error.

No click here: :mod:`headwater.cli.airflow` renders a :class:`FolderCheck` as a table or JSON.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headwater.dag_processing.processor import default_max_children, parse_result
from headwater.executors.process_tree import run_in_own_session
from headwater.loading.airflow_imports import is_airflow_name, real_airflow_importable
from headwater.loading.dagbag import iter_dag_files

__all__ = [
    "DagRunCheck",
    "FileCheck",
    "FileNote",
    "FileProblem",
    "FolderCheck",
    "check_folder",
    "explain_error",
]

COMPAT_ENVIRONMENT = {"HEADWATER__CORE__AIRFLOW_COMPAT": "true"}
"""Added to the children's environment: the check always answers ``airflow`` imports."""


@dataclass
class FileProblem:
    """Why a file does not load unchanged: one of its import errors, explained."""

    kind: str
    """``airflow_import``, ``missing_module``, ``missing_name``, ``unknown_argument``,
    ``naive_date``, ``syntax_error``, ``timeout``, ``crash``, ``duplicate_dag_id``,
    ``not_storable``, ``exit`` or ``exception``."""
    reason: str
    """What stops the file, in one line: "imports airflow.providers.amazon.aws.hooks.s3.S3Hook,
    which headwater does not provide"."""
    line: int | None = None
    """The line of the file where it stops (None when unknown: a timeout, a crash)."""
    source: str | None = None
    """That line of the file, stripped."""
    error: str = ""
    """The import error as ``dags list`` shows it (type, message, the file's traceback)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "reason": self.reason,
            "line": self.line,
            "source": self.source,
            "error": self.error,
        }


@dataclass
class FileNote:
    """A name the file uses that Airflow deprecated: it works, and the message names what to
    use instead (Airflow 3 removed most of them)."""

    message: str
    line: int | None = None
    source: str | None = None
    """That line of the file, stripped."""

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "source": self.source, "message": self.message}


@dataclass
class DagRunCheck:
    """One DAG run once through ``dags test``'s code path."""

    dag_id: str
    state: str
    """``success``, ``failed``, ``timeout`` or ``error`` (the run could not start or its
    process died)."""
    seconds: float
    failed_task: str | None = None
    """The first task (in the order tasks ran) that failed, if any."""
    error: str | None = None
    """Its error's first line, or why the run did not finish."""

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    def to_json(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "state": self.state,
            "seconds": round(self.seconds, 3),
            "failed_task": self.failed_task,
            "error": self.error,
        }


@dataclass
class FileCheck:
    """One candidate DAG file: its DAGs, what stops it, and its runs (with ``run``)."""

    path: str
    dags: list[str] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    notes: list[FileNote] = field(default_factory=list)
    runs: list[DagRunCheck] = field(default_factory=list)

    @property
    def loads(self) -> bool:
        """Whether the file imports without any error (every DAG of it can be stored)."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "loads": self.loads,
            "dags": list(self.dags),
            "problems": [p.to_json() for p in self.problems],
            "notes": [n.to_json() for n in self.notes],
            "runs": [r.to_json() for r in self.runs],
        }


@dataclass
class FolderCheck:
    """The check of one folder (or file)."""

    folder: str
    files: list[FileCheck]
    ran: bool = False
    """Whether the DAGs were run (``run``)."""
    real_airflow: bool = False
    """A real Airflow is importable here: the files' ``airflow`` imports went to it, not to
    headwater (the compatibility layer never shadows it)."""

    @property
    def files_loading(self) -> int:
        return sum(f.loads for f in self.files)

    @property
    def files_with_notes(self) -> int:
        return sum(bool(f.notes) for f in self.files)

    @property
    def runs(self) -> list[DagRunCheck]:
        return [r for f in self.files for r in f.runs]

    @property
    def ok(self) -> bool:
        """Every file loads and, when the DAGs were run, every run succeeded."""
        return all(f.loads for f in self.files) and all(r.succeeded for r in self.runs)

    def summary(self) -> str:
        """The totals, e.g. "12 of 15 files load; 10 of 11 DAGs ran to success", or that no
        file was found."""
        if not self.files:
            return f"No DAG files found in {self.folder}."
        text = f"{self.files_loading} of {len(self.files)} files load"
        if self.ran:
            runs = self.runs
            text += f"; {sum(r.succeeded for r in runs)} of {len(runs)} DAGs ran to success"
        if noted := self.files_with_notes:
            text += f"; {noted} {'file uses' if noted == 1 else 'files use'} names Airflow"
            text += " deprecated (see the notes)"
        return text

    def to_json(self) -> dict[str, Any]:
        runs = self.runs
        totals: dict[str, Any] = {
            "files": len(self.files),
            "files_loading": self.files_loading,
            "files_with_notes": self.files_with_notes,
        }
        if self.ran:
            totals |= {"dags_run": len(runs), "dags_succeeded": sum(r.succeeded for r in runs)}
        return {
            "folder": self.folder,
            "ok": self.ok,
            "real_airflow": self.real_airflow,
            "summary": self.summary(),
            "totals": totals,
            "files": [f.to_json() for f in self.files],
        }


# -- explaining an import error ----------------------------------------------------------------

_NO_MODULE = re.compile(r"^ModuleNotFoundError: No module named '([^']+)'")
_NO_NAME = re.compile(r"^ImportError: cannot import name '([^']+)' from '([^']+)'")
_NO_ATTRIBUTE = re.compile(r"^AttributeError: module '([^']+)' has no attribute '([^']+)'")
_UNKNOWN_ARGUMENT = re.compile(
    r"(?:task '[^']*' \((\w+)\)|(DAG) '[^']*'): (unknown arguments? .*)$"
)
_DECORATORS = {
    "_DecoratedPythonOperator": "@task",
    "_DecoratedBranchOperator": "@task.branch",
    "_DecoratedShortCircuitOperator": "@task.short_circuit",
    "_DecoratedBashOperator": "@task.bash",
}
"""The classes behind the decorators, by the names the file uses."""
_NAIVE_DATE = re.compile(r"DAG '[^']*': (\w+) (\S+) has no timezone")
_TYPE_PREFIX = re.compile(r"^(\w+(?:\.\w+)*): ")


def explain_error(path: Path | str, line: int | None, message: str) -> FileProblem:
    """``path``'s import error (its line and its message as the DAG processor stores it),
    explained: what kind of construct stops the file, in one line, with that line's source.

    Example::

        explain_error("etl.py", 3, "ModuleNotFoundError: No module named 'airflow.x'...")
        # FileProblem(kind="airflow_import", reason="imports airflow.x.Hook, which ...")
    """
    first = message.splitlines()[0] if message else ""
    source = _source_line(path, line)
    kind, reason = _classify(path, line, first)
    return FileProblem(kind, reason, line, source, message)


_EXAMPLES = "airflow.example_dags"
_EXAMPLES_HINT = (
    " (Airflow's own example package: headwater finds it only as the folder "
    "airflow/example_dags, with its __init__.py, unpacked from Airflow's wheel; elsewhere copy "
    "the module next to the DAG file and import it from there)"
)


def _classify(path: Path | str, line: int | None, first: str) -> tuple[str, str]:
    if match := _NO_MODULE.match(first):
        module = match.group(1)
        imported = _imported_names(path, line, module)
        if is_airflow_name(module):
            return "airflow_import", f"imports {imported}, which headwater does not provide" + (
                _EXAMPLES_HINT if module.startswith(_EXAMPLES) else ""
            )
        return "missing_module", f"imports {imported}, which is not installed here"
    if match := _NO_NAME.match(first):
        name, module = match.groups()
        if is_airflow_name(module):
            return (
                "airflow_import",
                f"imports {module}.{name}, which headwater does not provide",
            )
        return "missing_name", f"imports {module}.{name}, which {module} does not have"
    if (match := _NO_ATTRIBUTE.match(first)) and is_airflow_name(match.group(1)):
        module, name = match.groups()
        return "airflow_import", f"uses {module}.{name}, which headwater does not provide"
    if first.startswith(("SyntaxError: ", "IndentationError: ", "TabError: ")):
        return "syntax_error", f"syntax error: {first.partition(': ')[2]}"
    if match := _UNKNOWN_ARGUMENT.search(first):
        operator, dag, unknown = match.groups()
        name = dag or _DECORATORS.get(operator, operator)
        return "unknown_argument", f"{name}: {unknown}"
    if match := _NAIVE_DATE.search(first):
        return "naive_date", f"naive {match.group(1)} {match.group(2)} (no timezone)"
    if first.removeprefix("TimeoutError: ").startswith("importing the file took longer"):
        return "timeout", first.removeprefix("TimeoutError: ")
    if first.startswith("the process importing the file"):
        return "crash", first
    if "is already defined in" in first:
        return "duplicate_dag_id", first.removeprefix("DagDefinitionError: ")
    if " cannot be stored: " in first:
        return "not_storable", first
    if first.startswith("the file called sys.exit("):
        return "exit", first
    kind_of = _TYPE_PREFIX.match(first)
    if kind_of:
        return "exception", f"{first} (raised while importing the file)"
    return "exception", first or "the file failed to import"


def _source_line(path: Path | str, line: int | None) -> str | None:
    if not line:
        return None
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return None
    return lines[line - 1].strip() if 0 < line <= len(lines) else None


def _imported_names(path: Path | str, line: int | None, missing: str) -> str:
    """What the import statement at ``line`` asks of the missing module ``missing``:
    ``module.Name`` (names joined by ", "), or the module the statement names, or
    ``missing`` itself when the statement cannot be read."""
    statement = _import_at(path, line)
    if isinstance(statement, ast.ImportFrom) and statement.module:
        module = statement.module
        if module == missing or module.startswith(missing + "."):
            return ", ".join(f"{module}.{alias.name}" for alias in statement.names)
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            if alias.name == missing or alias.name.startswith(missing + "."):
                return alias.name
    return missing


def _import_at(path: Path | str, line: int | None) -> ast.stmt | None:
    if not line:
        return None
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and (
            node.lineno <= line <= (node.end_lineno or node.lineno)
        ):
            return node
    return None


# -- child processes -------------------------------------------------------------------------


def _last_json_line(out: str) -> dict[str, Any] | None:
    """The child's result: the last line of its stdout (task code may print before it)."""
    lines = out.strip().splitlines()
    try:
        data = json.loads(lines[-1])
    except (IndexError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _died(code: int, err: str) -> str:
    how = f"signal {-code}" if code < 0 else f"exit code {code}"
    tail = [line for line in err.strip().splitlines() if line.strip()][-3:]
    return f"the process died ({how})" + (": " + " / ".join(tail) if tail else "")


def _parse_file(path: Path, env: Mapping[str, str], timeout_s: float) -> FileCheck:
    """Import ``path`` as the DAG processor does, in a child process: its DAGs and problems."""
    argv = ["-m", "headwater.dag_processing.parse_file", str(path), str(os.getpid())]
    code, out, err = run_in_own_session(
        [sys.executable, *argv], cwd=path.parent, env=env, timeout_s=timeout_s
    )
    check = FileCheck(str(path))
    if code is None:
        check.problems.append(
            FileProblem(
                "timeout",
                f"importing the file took longer than {timeout_s:g} s and was stopped "
                "(setting scheduler.file_parse_timeout_s)",
            )
        )
        return check
    data = _last_json_line(out) if code == 0 else None
    if data is None:
        reason = (
            _died(code, err) if code != 0 else "the process importing the file returned no result"
        )
        check.problems.append(FileProblem("crash", reason, error=err.strip()))
        return check
    result = parse_result(str(path), data)
    check.dags = [d["dag"]["dag_id"] for d in result.dags]
    for error in result.errors:
        check.problems.append(explain_error(path, error.get("line"), str(error["message"])))
    for note in data.get("notes", []):
        line = note.get("line")
        check.notes.append(FileNote(str(note["message"]), line, _source_line(path, line)))
    return check


def _run_dag(path: Path, dag_id: str, env: Mapping[str, str], timeout_s: float) -> DagRunCheck:
    """Run ``dag_id`` of ``path`` once, as ``dags test`` does, in a child process."""
    argv = ["-m", "headwater.services.airflow_check_child", str(path), dag_id, str(os.getpid())]
    started = time.monotonic()
    code, out, err = run_in_own_session(
        [sys.executable, *argv], cwd=path.parent, env=env, timeout_s=timeout_s
    )
    seconds = time.monotonic() - started
    if code is None:
        return DagRunCheck(
            dag_id, "timeout", seconds, error=f"the run took longer than {timeout_s:g} s"
        )
    data = _last_json_line(out)
    if data is None:
        why = _died(code, err) if code != 0 else "the run's process returned no result"
        return DagRunCheck(dag_id, "error", seconds, error=why)
    return DagRunCheck(
        dag_id,
        str(data["state"]),
        seconds,
        failed_task=data.get("failed_task"),
        error=data.get("error"),
    )


# -- the folder --------------------------------------------------------------------------------


def _duplicates(files: Iterable[FileCheck]) -> None:
    """A DAG id defined by two files is the first file's (in the folder's order), as for the
    DAG processor: each later file gets the problem and loses the DAG."""
    owner: dict[str, str] = {}
    for check in files:
        kept = []
        for dag_id in check.dags:
            if dag_id in owner:
                message = f"DAG id {dag_id!r} is already defined in {owner[dag_id]}"
                check.problems.append(
                    FileProblem("duplicate_dag_id", message, error=f"DagDefinitionError: {message}")
                )
                continue
            owner[dag_id] = check.path
            kept.append(dag_id)
        check.dags = kept


def check_folder(
    folder: Path,
    *,
    run: bool = False,
    parse_timeout_s: float = 30.0,
    run_timeout_s: float = 60.0,
    environ: Mapping[str, str] | None = None,
    max_children: int | None = None,
) -> FolderCheck:
    """Check every candidate DAG file under ``folder`` (or the file ``folder``).

    ``parse_timeout_s``: the longest one file's import may take; ``run``: run each DAG found
    too, each within ``run_timeout_s``; ``environ``: the children's environment (default:
    this process's), with ``[core] airflow_compat`` turned on; ``max_children``: files
    imported (and DAGs run) at once (default: as many as the DAG processor).
    """
    folder = Path(folder).absolute()  # the children run in the files' own folders
    env = {**(os.environ if environ is None else environ), **COMPAT_ENVIRONMENT}
    paths = iter_dag_files(folder, airflow=True) if folder.exists() else []
    workers = max(1, min(max_children or default_max_children(), len(paths) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="airflow-check") as pool:
        checks = list(pool.map(lambda p: _parse_file(p, env, parse_timeout_s), paths))
        _duplicates(checks)
        if run:
            jobs = [(Path(c.path), dag_id) for c in checks for dag_id in c.dags]
            results = pool.map(lambda job: _run_dag(job[0], job[1], env, run_timeout_s), jobs)
            by_path = {c.path: c for c in checks}
            for (path, _), result in zip(jobs, results, strict=True):
                by_path[str(path)].runs.append(result)
    return FolderCheck(str(folder), checks, ran=run, real_airflow=real_airflow_importable())
