"""Loading every DAG in a folder; a file that fails to import is reported, not fatal.

Only ``.py`` files that mention both "headwater" and "dag" are imported (as Airflow's safe
mode does), or "airflow" and "dag" with ``[core] airflow_compat`` (their ``airflow`` imports
then resolve to headwater's objects: :mod:`headwater.loading.airflow_imports`), skipping
names that start with ``_`` or ``.``. The folder is put on
``sys.path`` so DAG files can import helper modules next to them. A file's DAGs are every
DAG created while it is imported (in a factory function, by ``@dag``, bound to a name or
not) and every DAG among its module-level names.

Each file's import may be given a time limit (``import_timeout_s``; the commands pass the
setting ``scheduler.file_parse_timeout_s``, as the DAG processor uses): a file still importing
then is stopped and recorded as an import error, and the other files load. The limit is a
``SIGALRM`` timer, which only the main thread can receive: loading from another thread runs
without a limit (a warning says so).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from headwater.authoring import _definition_stacks
from headwater.authoring.dag import DAG
from headwater.exceptions import DagDefinitionError, DagImportError, DagNotFoundError
from headwater.loading.airflow_imports import airflow_compat_enabled, install_airflow_names
from headwater.shown_text import quoted


def _is_dag_file(path: Path, *, airflow: bool) -> bool:
    try:
        text = path.read_bytes().lower()
    except OSError:
        return False
    if b"dag" not in text:
        return False
    return b"headwater" in text or (airflow and b"airflow" in text)


def iter_dag_files(folder: Path, *, airflow: bool | None = None) -> list[Path]:
    """The candidate DAG files under ``folder``, sorted: those that mention "dag" and
    "headwater", or "airflow" too with ``airflow`` (None: ``[core] airflow_compat``)."""
    if folder.is_file():
        return [folder]
    if airflow is None:
        airflow = airflow_compat_enabled()
    found = []
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder).parts
        if any(p.startswith(("_", ".")) for p in parts):
            continue
        if _is_dag_file(path, airflow=airflow):
            found.append(path)
    return found


def _error_line(exc: BaseException, path: Path) -> int | None:
    """The line of ``path`` where ``exc`` was raised (the deepest frame in that file)."""
    # Tracebacks name files by absolute path while ``path`` may be relative to the current
    # folder (``--folder dags``): compare both resolved.
    target = path.resolve()
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == target:
        return exc.lineno
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == target:
            line = frame.lineno
    return line


_HEADWATER_DIR = str(Path(__file__).resolve().parent.parent) + os.sep


def _is_users_frame(frame: traceback.FrameSummary) -> bool:
    """Whether a traceback frame is worth showing the file's author: not headwater's own
    code (the loader, the authoring classes) nor the import machinery."""
    name = frame.filename
    if name.startswith("<frozen importlib"):
        return False
    try:
        resolved = str(Path(name).resolve())
    except (OSError, ValueError):
        return True
    return not resolved.startswith(_HEADWATER_DIR)


def _users_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` (and of the exceptions chained to it) without headwater's
    frames and the import machinery's."""
    top = traceback.TracebackException.from_exception(exc)
    seen: set[int] = set()
    pending = [top]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.stack = traceback.StackSummary.from_list(
            [frame for frame in current.stack if _is_users_frame(frame)]
        )
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        pending.extend(getattr(current, "exceptions", None) or [])
    return "".join(top.format()).rstrip()


def _error_message(exc: BaseException) -> str:
    """An import error's message: one line saying what went wrong, then (for exceptions
    raised by the file's own code) the traceback of the file's frames."""
    if isinstance(exc, SystemExit):
        code = "" if exc.code is None else repr(exc.code)
        return f"the file called sys.exit({code}) while being imported\n{_users_traceback(exc)}"
    if isinstance(exc, _ImportTimedOut):
        return f"TimeoutError: {exc}"
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, DagDefinitionError | SyntaxError | ImportError):
        return message
    return f"{message}\n{_users_traceback(exc)}"


log = logging.getLogger(__name__)


class _ImportTimedOut(Exception):
    """Raised into a file's import by the alarm when it runs past its time limit."""


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`_ImportTimedOut` in the main thread after ``seconds`` (none: no limit).

    A timer already set (a task's ``execution_timeout`` while the task loads a folder) is
    kept: when it is due first it stays in charge, and otherwise it is set again on the way
    out for the time it had left.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    if outer_left and outer_left <= seconds:
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise _ImportTimedOut(
            f"importing the file took longer than {seconds:g} s and was stopped "
            "(setting scheduler.file_parse_timeout_s)"
        )

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:  # even when the alarm fired just before the line above
            signal.signal(signal.SIGALRM, previous)
            if outer_left:
                left = outer_left - (time.monotonic() - started)
                signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))


@dataclass
class DagBag:
    """The DAGs of one folder (or file), with the import errors of the files that failed.

    ``import_timeout_s``: the longest one file's import may take (``None`` or 0: no limit).
    """

    folder: Path
    import_timeout_s: float | None = None
    airflow_compat: bool | None = None
    """Answer the files' ``airflow`` imports with headwater's objects (None: ``[core]
    airflow_compat`` of this process's settings)."""
    dags: dict[str, DAG] = field(default_factory=dict)
    import_errors: list[DagImportError] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        if not self.folder.exists():
            self.import_errors.append(
                DagImportError(str(self.folder), None, "no such file or folder")
            )
            return
        if self.import_timeout_s and threading.current_thread() is not threading.main_thread():
            log.warning(
                "loading %s off the main thread: DAG files import without the %g s time "
                "limit (its SIGALRM timer reaches only the main thread)",
                self.folder,
                self.import_timeout_s,
            )
        if self.airflow_compat is None:
            self.airflow_compat = airflow_compat_enabled()
        if self.airflow_compat:
            install_airflow_names()
        root = self.folder if self.folder.is_dir() else self.folder.parent
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        for path in iter_dag_files(self.folder, airflow=self.airflow_compat):
            self._load_file(path)

    def _load_file(self, path: Path) -> None:
        module_name = "headwater_dag_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
        try:
            with (
                _definition_stacks.collecting_dags() as created,
                _time_limit(self.import_timeout_s),
            ):
                module = _import_file(module_name, path)
            module_dags = [v for v in vars(module).values() if isinstance(v, DAG)]
            found = list({id(d): d for d in [*created, *module_dags]}.values())
            for dag in found:
                dag.validate()
        except (Exception, SystemExit) as exc:
            # SystemExit too: a file that calls sys.exit() while imported must not end the
            # command that imports the folder (``dags list``, a worker). KeyboardInterrupt
            # (Ctrl-C) goes through. ``os._exit`` cannot be caught at all.
            sys.modules.pop(module_name, None)
            self.import_errors.append(
                DagImportError(str(path), _error_line(exc, path), _error_message(exc))
            )
            return
        for dag in found:
            if dag.dag_id in self.dags:
                where = self.files[dag.dag_id]
                place = (
                    "defined twice in this file" if where == path else f"already defined in {where}"
                )
                self.import_errors.append(
                    DagImportError(
                        str(path), None, f"DagDefinitionError: DAG id {dag.dag_id!r} is {place}"
                    )
                )
                continue
            self.dags[dag.dag_id] = dag
            self.files[dag.dag_id] = path

    def get_dag(self, dag_id: str) -> DAG:
        """The DAG ``dag_id``; else :class:`DagNotFoundError` listing the DAGs found and the
        import errors that may explain why it is missing (see :meth:`missing_dag_hint`)."""
        try:
            return self.dags[dag_id]
        except KeyError:
            known = ", ".join(sorted(self.dags)) or "none"
            raise DagNotFoundError(
                f"no DAG {quoted(dag_id)} in {self.folder} (found: {known})"
                + self.missing_dag_hint(dag_id)
            ) from None

    def missing_dag_hint(self, dag_id: str) -> str:
        """The import errors, for a message saying ``dag_id`` was not found: in full (file,
        line, error and the file's own traceback) for the files that mention ``dag_id``, the
        likely definers; the others as a count. When no failed file mentions it, each failed
        file's first line (its DAG id may be built, not written). Empty without errors."""
        if not self.import_errors:
            return ""
        related = [e for e in self.import_errors if _mentions(e.path, dag_id)]
        if related:
            lines = [f"{_where(e)}: {e.message}" for e in related]
            others = len(self.import_errors) - len(related)
            if others:
                lines.append(
                    f"{others} other file(s) failed to import too (see `headwater dags list`)"
                )
            return "; it may be in a file that failed to import:\n" + "\n".join(lines)
        shown = self.import_errors[:_BRIEF_ERRORS]
        lines = [f"{_where(e)}: {e.message.splitlines()[0]}" for e in shown]
        if len(self.import_errors) > len(shown):
            lines.append(
                f"and {len(self.import_errors) - len(shown)} more (see `headwater dags list`)"
            )
        return f"; {len(self.import_errors)} file(s) failed to import:\n" + "\n".join(lines)


_BRIEF_ERRORS = 5
"""At most this many unrelated import errors are listed when a DAG is not found."""


def _where(error: DagImportError) -> str:
    return f"{error.path}:{error.line}" if error.line else error.path


def _mentions(path: str, dag_id: str) -> bool:
    try:
        return dag_id.encode() in Path(path).read_bytes()
    except OSError:
        return False


def _import_file(module_name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
