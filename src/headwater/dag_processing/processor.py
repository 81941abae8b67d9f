"""The DAG-folder processor: keeps the database's DAGs in step with the files of the folder.

Each scan finds new, changed and deleted DAG files, and files not parsed for
``reparse_interval_s`` (a DAG built from a helper module or a config file can change while its
own file does not). Such a file is imported in its own
child process (``parse_file``) with a time limit, so a file that hangs, crashes the
interpreter or takes the memory of the machine is stopped and reported as an import error
without delaying anything else. A few children run at once (``max_children``), and each
file's result is stored as soon as its child ends: a file that hangs delays only itself. Its
DAGs are stored serialized; the scheduler works from those. DAGs that disappear from their
file (or whose file is deleted) become inactive. A file that fails keeps its DAGs' last good
version, so their runs go on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.clock import Clock, SystemClock
from headwater.dag_processing.asset_references import schedule_text, store_asset_references
from headwater.db.rows import DagFileRow, DagRow, ImportErrorRow
from headwater.loading.dagbag import iter_dag_files
from headwater.metrics.definitions import DAG_FILE_PARSE_SECONDS

if TYPE_CHECKING:
    from headwater.store.ports import DagCatalog

log = logging.getLogger(__name__)

_KILL_GRACE_S = 1.0
"""How long to wait for the pipes of a killed child to close."""

_STOP_CHECK_S = 0.2
"""How often a scan waiting for its children checks whether it should stop."""


class ScanStopped(Exception):
    """``should_stop()`` said so during a scan: its children were killed, the files not
    stored yet are parsed again by the next scan."""


def default_max_children() -> int:
    """How many files are imported at once: the CPUs, between 2 and 4 (at least 2 so that a
    file that hangs never holds up every other file on a one-CPU machine)."""
    return max(2, min(os.cpu_count() or 1, 4))


@dataclass
class ParseResult:
    path: str
    dags: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    failed: bool = False
    """The file did not import (an exception, a timeout, a crash): its DAGs stay as they were."""


def parse_result(path: str, data: dict[str, Any]) -> ParseResult:
    """The result of ``path`` from what :func:`~headwater.dag_processing.parse_file.parse`
    returned for it (as JSON)."""
    # A file that failed to import defines nothing: keep its DAGs' last good version.
    broken = bool(data["errors"]) and not data["dags"]
    return ParseResult(path, dags=data["dags"], errors=data["errors"], failed=broken)


@dataclass
class ScanReport:
    parsed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    """How many import errors each file parsed in this scan has (files without any left out)."""
    new_errors: dict[str, int] = field(default_factory=dict)
    """The files of ``errors`` whose errors appeared or changed in this scan: an unchanged
    broken file imported again is left out, so that it is reported once, not every scan."""


class DagFolderProcessor:
    """Scans one folder into one database."""

    def __init__(
        self,
        store: DagCatalog,
        folder: Path,
        *,
        parse_timeout_s: float = 30.0,
        reparse_interval_s: float = 0.0,
        paused_at_creation: bool = False,
        clock: Clock | None = None,
        environ: dict[str, str] | None = None,
        max_children: int | None = None,
        airflow_compat: bool | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.store = store
        self.folder = Path(folder)
        self.parse_timeout_s = parse_timeout_s
        self.reparse_interval_s = reparse_interval_s
        """Unchanged files are parsed again once their last parse is this old (0: never)."""
        self.paused_at_creation = paused_at_creation
        self.clock = clock or SystemClock()
        self.environ = environ
        self.max_children = max(1, max_children or default_max_children())
        self.airflow_compat = airflow_compat
        """Scan the files that mention airflow too (None: ``[core] airflow_compat`` of this
        process's settings, read at each scan); the children read their own settings."""
        """How many files are imported at once, each in its own child process."""
        self._errors_seen: dict[str, tuple[tuple[int | None, str], ...]] = {}
        """Each broken file's import errors (line, message) when last parsed."""
        self.should_stop = should_stop or (lambda: False)
        """Checked while a scan waits for its children: True ends it (:class:`ScanStopped`)
        within ``_STOP_CHECK_S``, so that a file that takes long to import cannot hold up a
        Ctrl-C."""

    def scan(self) -> ScanReport:
        """Parse what changed since the last scan and what is due again, and forget deleted
        files."""
        report = ScanReport()
        known = self.store.get_dag_files()
        due = self._reparse_due(known)
        current: dict[str, tuple[Path, float, str]] = {}
        exists = self.folder.exists()
        files = iter_dag_files(self.folder, airflow=self.airflow_compat) if exists else []
        for path in files:
            resolved = str(path.resolve())
            try:
                mtime = path.stat().st_mtime
                row = known.get(resolved)
                if row is not None and row.mtime == mtime:
                    current[resolved] = (path, mtime, row.source_hash)
                    continue
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                continue  # deleted while scanning: the next scan sees it gone
            current[resolved] = (path, mtime, digest)
        changed = [
            resolved
            for resolved, (_, _, digest) in current.items()
            if resolved not in known or known[resolved].source_hash != digest or resolved in due
        ]
        # DAGs given up (their file deleted, or gone from their file) are released before any
        # file that could take them over is stored, so a DAG moved to another file (a renamed
        # file, say) is taken over by that file in this same scan instead of being refused as
        # a duplicate of its old self. Deleted files are known now; a changed file's DAGs are
        # released when its child ends (see _Scan).
        for gone in sorted(set(known) - set(current)):
            self._release(gone, known[gone].dag_ids)
            self.store.clear_import_errors(gone)
            self.store.delete_dag_file(gone)
            report.deleted.append(gone)
        state = _Scan(self, known, current, changed)
        self._parse_all(changed, state.received)
        state.finish()
        for resolved in changed:
            report.parsed.append(resolved)
            errors = tuple((e.line, e.message) for e in state.stored[resolved].errors)
            if errors:
                report.errors[resolved] = len(errors)
                if errors != self._errors_seen.get(resolved):
                    report.new_errors[resolved] = len(errors)
                self._errors_seen[resolved] = errors
            else:
                self._errors_seen.pop(resolved, None)
        for gone in report.deleted:
            self._errors_seen.pop(gone, None)
        return report

    def _reparse_due(self, known: dict[str, DagFileRow]) -> set[str]:
        """Files whose last parse is at least ``reparse_interval_s`` old."""
        if self.reparse_interval_s <= 0:
            return set()
        oldest = self.clock.now() - timedelta(seconds=self.reparse_interval_s)
        return {path for path, row in known.items() if row.last_parsed_at <= oldest}

    def _release(self, path: str, dag_ids: list[str]) -> None:
        """Deactivate those of ``dag_ids`` still stored as defined in ``path``."""
        owned = []
        for dag_id in dag_ids:
            row = self.store.get_dag(dag_id)
            if row is not None and row.fileloc == path:
                owned.append(dag_id)
        self.store.deactivate_dags(owned)

    # -- parsing -------------------------------------------------------------------------------

    def _parse_all(self, paths: list[str], on_result: Callable[[ParseResult], None]) -> None:
        """Parse files in child processes, ``max_children`` at a time, each within the time
        limit; ``on_result`` gets each file's result (in this thread) as soon as its child
        ends, so a file that hangs delays only itself."""
        if not paths:
            return
        live: set[subprocess.Popen[bytes]] = set()
        lock = threading.Lock()
        stopping = False

        @DAG_FILE_PARSE_SECONDS.time()  # in this process, the child's whole life
        def parse(path: str) -> ParseResult:
            child = self._start_child(path)
            with lock:
                if stopping:
                    _signal_group(child)
                live.add(child)
            try:
                return self._finish_child(path, child, self.parse_timeout_s)
            finally:
                with lock:
                    live.discard(child)

        pool = ThreadPoolExecutor(
            max_workers=min(self.max_children, len(paths)), thread_name_prefix="dag-parse"
        )
        try:
            pending: set[Future[ParseResult]] = {pool.submit(parse, path) for path in paths}
            while pending:
                done, pending = wait(pending, _STOP_CHECK_S, return_when=FIRST_COMPLETED)
                for future in done:
                    on_result(future.result())
                if pending and self.should_stop():
                    raise ScanStopped(f"stopped while importing {len(pending)} file(s)")
        except BaseException:
            # Asked to stop, Ctrl-C, or storing failed: stop the children still importing.
            with lock:
                stopping = True
                for child in live:
                    _signal_group(child)
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def _start_child(self, path: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "headwater.dag_processing.parse_file", path, str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=str(Path(path).parent),
            env=self.environ,
            start_new_session=True,  # killable with everything the file started
        )

    def _finish_child(
        self, path: str, child: subprocess.Popen[bytes], timeout_s: float
    ) -> ParseResult:
        try:
            out, err = child.communicate(timeout=max(timeout_s, 0.01))
        except subprocess.TimeoutExpired:
            _kill(child)
            message = (
                f"importing the file took longer than {self.parse_timeout_s:g} s and was "
                "stopped (setting scheduler.file_parse_timeout_s)"
            )
            return ParseResult(path, errors=[{"line": None, "message": message}], failed=True)
        if child.returncode != 0:
            tail = err.decode(errors="replace").strip().splitlines()[-5:]
            code = child.returncode
            how = f"signal {-code}" if code < 0 else f"exit code {code}"
            message = f"the process importing the file died ({how})"
            if tail:
                message += ": " + " / ".join(tail)
            return ParseResult(path, errors=[{"line": None, "message": message}], failed=True)
        lines = out.decode(errors="replace").strip().splitlines()
        try:
            data = json.loads(lines[-1])
        except (IndexError, ValueError):
            message = "the process importing the file returned no result"
            return ParseResult(path, errors=[{"line": None, "message": message}], failed=True)
        return parse_result(path, data)

    # -- storing -------------------------------------------------------------------------------

    def _store(self, result: ParseResult, scan: _Scan) -> None:
        """Store the file's DAGs and import errors, and what was stored in ``scan``."""
        from headwater.dag_processing.serialized_dag import serialized_dag_hash

        _, mtime, digest = scan.current[result.path]
        now = self.clock.now()
        before = scan.known.get(result.path)
        previous_ids = list(before.dag_ids) if before else []
        errors = [
            ImportErrorRow(result.path, e["message"], now, line=e.get("line"))
            for e in result.errors
        ]
        taken: set[str] = set()
        if result.failed:
            dag_ids = previous_ids
        else:
            dag_ids = []
            for data in result.dags:
                spec = data["dag"]
                dag_id = spec["dag_id"]
                existing = self.store.get_dag(dag_id)
                if (
                    existing is not None
                    and existing.is_active
                    and existing.fileloc not in (None, result.path)
                    and not scan.take_over(dag_id, existing.fileloc, result.path, now)
                ):
                    errors.append(_duplicate(result.path, dag_id, existing.fileloc, now))
                    continue
                paused = spec.get("is_paused_upon_creation")
                self.store.upsert_dag(
                    DagRow(
                        dag_id=dag_id,
                        fileloc=result.path,
                        source_hash=serialized_dag_hash(data),
                        serialized=data,
                        serialized_version=data.get("version"),
                        is_paused=self.paused_at_creation if paused is None else bool(paused),
                        is_active=True,
                        last_parsed_at=now,
                        description=spec.get("description"),
                        schedule=schedule_text(_schedule_text(spec.get("schedule")), spec),
                        tags=list(spec.get("tags") or []),
                        display_name=spec.get("dag_display_name"),
                    )
                )
                store_asset_references(self.store, dag_id, spec, now)
                dag_ids.append(dag_id)
                if dag_id not in previous_ids:
                    taken.add(dag_id)
        stored = _Stored(digest, mtime, dag_ids, errors, taken)
        scan.stored[result.path] = stored
        self._write_file(result.path, stored, now)

    def _write_file(self, path: str, stored: _Stored, now: datetime) -> None:
        if stored.errors:
            self.store.set_import_errors(path, stored.errors)
        else:
            self.store.clear_import_errors(path)
        self.store.upsert_dag_file(path, stored.digest, stored.mtime, stored.dag_ids, now)
        log.info("Parsed %s: %d DAG(s), %d error(s)", path, len(stored.dag_ids), len(stored.errors))


@dataclass
class _Stored:
    """What a scan stored for one file."""

    digest: str
    mtime: float
    dag_ids: list[str]
    errors: list[ImportErrorRow]
    taken: set[str]
    """The DAG ids the file did not hold before this scan (new ones, or ones another file
    gave up): a file before it in the folder's order that defines one of them takes it."""


class _Scan:
    """The results of one scan's files, stored as their children end.

    The outcome is the one of releasing what every file gave up, then storing the files in
    the folder's order (the order before files were parsed side by side):

    * a file is stored once no DAG it defines is still held by a file whose child has not
      ended yet (that file may be giving it up: a DAG moved from one file to another);
    * a DAG id defined by two files of the scan and held by neither before goes to the first
      file in the folder's order, even when the other one was stored first.
    """

    def __init__(
        self,
        processor: DagFolderProcessor,
        known: dict[str, DagFileRow],
        current: dict[str, tuple[Path, float, str]],
        changed: list[str],
    ) -> None:
        self.processor = processor
        self.known = known
        self.current = current
        self.order = {path: position for position, path in enumerate(changed)}
        self.running = set(changed)
        """Files whose child has not ended yet."""
        self.waiting: list[ParseResult] = []
        self.stored: dict[str, _Stored] = {}

    def received(self, result: ParseResult) -> None:
        """A file's child ended: release the DAGs it gave up, store what can be stored."""
        self.running.discard(result.path)
        if not result.failed and result.path in self.known:
            defined = {data["dag"]["dag_id"] for data in result.dags}
            dropped = [d for d in self.known[result.path].dag_ids if d not in defined]
            self.processor._release(result.path, dropped)
        self.waiting.append(result)
        self._store_ready()

    def finish(self) -> None:
        """Every child ended: store the files still waiting."""
        self.running.clear()
        self._store_ready()

    def _store_ready(self) -> None:
        ready = [r for r in self.waiting if not self._blocked(r)]
        for result in sorted(ready, key=lambda r: self.order[r.path]):
            self.waiting.remove(result)
            self.processor._store(result, self)

    def _blocked(self, result: ParseResult) -> bool:
        """Whether a DAG of ``result`` is held by a file whose child has not ended."""
        if result.failed:
            return False
        for data in result.dags:
            row = self.processor.store.get_dag(data["dag"]["dag_id"])
            if (
                row is not None
                and row.is_active
                and row.fileloc != result.path
                and row.fileloc in self.running
            ):
                return True
        return False

    def take_over(self, dag_id: str, holder: str, taker: str, now: datetime) -> bool:
        """Whether ``taker`` takes ``dag_id`` from ``holder``, which took it in this scan but
        comes after ``taker`` in the folder's order; ``holder`` then gets the import error."""
        stored = self.stored.get(holder)
        if stored is None or dag_id not in stored.taken:
            return False
        if self.order.get(holder, -1) <= self.order[taker]:
            return False
        stored.taken.discard(dag_id)
        stored.dag_ids.remove(dag_id)
        stored.errors.append(_duplicate(holder, dag_id, taker, now))
        self.processor._write_file(holder, stored, now)
        return True


def _duplicate(path: str, dag_id: str, where: str, now: datetime) -> ImportErrorRow:
    return ImportErrorRow(
        path, f"DagDefinitionError: DAG id {dag_id!r} is already defined in {where}", now
    )


def _schedule_text(spec: Any) -> str | None:
    """The schedule as the ``dags`` row keeps it: as written, a timedelta as ``str()``
    writes it, a timetable's summary."""
    if spec is None:
        return None
    if isinstance(spec, dict) and "timetable" in spec:
        return str(spec["timetable"]["summary"])
    if isinstance(spec, dict) and "seconds" in spec:
        from datetime import timedelta

        return str(timedelta(seconds=spec["seconds"]))
    return str(spec)


def _signal_group(child: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child and everything it started in its process group."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _kill(child: subprocess.Popen[bytes]) -> None:
    _signal_group(child)
    try:
        child.communicate(timeout=_KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        # A process the file started left the process group (a new session) and holds the
        # pipes open: stop reading instead of waiting for it, which could be forever.
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()
        child.wait()
