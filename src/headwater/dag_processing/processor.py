"""The DAG-folder processor: keeps the database's DAGs in step with the files of the folder.

Each scan finds new, changed and deleted DAG files, and files not parsed for
``reparse_interval_s`` (a DAG built from a helper module or a config file can change while its
own file does not). Such a file is imported in its own
child process (``parse_file``) with a time limit, so a file that hangs, crashes the
interpreter or takes the memory of the machine is stopped and reported as an import error
without delaying anything else. Its DAGs are stored serialized; the scheduler works from
those. DAGs that disappear from their file (or whose file is deleted) become inactive.
A file that fails keeps its DAGs' last good version, so their runs go on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.clock import Clock, SystemClock
from headwater.db.rows import DagFileRow, DagRow, ImportErrorRow
from headwater.loading.dagbag import iter_dag_files

if TYPE_CHECKING:
    from headwater.store.sql import SqlStore

log = logging.getLogger(__name__)

_KILL_GRACE_S = 1.0
"""How long to wait for the pipes of a killed child to close."""


@dataclass
class ParseResult:
    path: str
    dags: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    failed: bool = False
    """The file did not import (an exception, a timeout, a crash): its DAGs stay as they were."""


@dataclass
class ScanReport:
    parsed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


class DagFolderProcessor:
    """Scans one folder into one database."""

    def __init__(
        self,
        store: SqlStore,
        folder: Path,
        *,
        parse_timeout_s: float = 30.0,
        reparse_interval_s: float = 0.0,
        paused_at_creation: bool = False,
        clock: Clock | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        self.store = store
        self.folder = Path(folder)
        self.parse_timeout_s = parse_timeout_s
        self.reparse_interval_s = reparse_interval_s
        """Unchanged files are parsed again once their last parse is this old (0: never)."""
        self.paused_at_creation = paused_at_creation
        self.clock = clock or SystemClock()
        self.environ = environ

    def scan(self) -> ScanReport:
        """Parse what changed since the last scan and what is due again, and forget deleted
        files."""
        report = ScanReport()
        known = self.store.get_dag_files()
        due = self._reparse_due(known)
        current: dict[str, tuple[Path, float, str]] = {}
        for path in iter_dag_files(self.folder) if self.folder.exists() else []:
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
        results = self._parse_all(changed)
        # DAGs given up (their file deleted, or gone from their file) are released before any
        # file is stored, so a DAG moved to another file (a renamed file, say) is taken over by
        # that file in this same scan instead of being refused as a duplicate of its old self.
        for gone in sorted(set(known) - set(current)):
            self._release(gone, known[gone].dag_ids)
            self.store.clear_import_errors(gone)
            self.store.delete_dag_file(gone)
            report.deleted.append(gone)
        for result in results:
            if not result.failed and result.path in known:
                defined = {data["dag"]["dag_id"] for data in result.dags}
                dropped = [d for d in known[result.path].dag_ids if d not in defined]
                self._release(result.path, dropped)
        for result in results:
            _, mtime, digest = current[result.path]
            errors = self._store(result, digest, mtime)
            report.parsed.append(result.path)
            if errors:
                report.errors[result.path] = errors
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

    def _parse_all(self, paths: list[str]) -> list[ParseResult]:
        """Parse files in child processes, a few at a time, each within the time limit."""
        results: list[ParseResult] = []
        batch = max(os.cpu_count() or 1, 1)
        for i in range(0, len(paths), batch):
            children = [
                (path, self._start_child(path), time.monotonic()) for path in paths[i : i + batch]
            ]
            for path, child, started in children:
                remaining = self.parse_timeout_s - (time.monotonic() - started)
                results.append(self._finish_child(path, child, remaining))
        return results

    def _start_child(self, path: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "headwater.dag_processing.parse_file", path],
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
        # A file that failed to import defines nothing: keep its DAGs' last good version.
        broken = bool(data["errors"]) and not data["dags"]
        return ParseResult(path, dags=data["dags"], errors=data["errors"], failed=broken)

    # -- storing -------------------------------------------------------------------------------

    def _store(self, result: ParseResult, digest: str, mtime: float) -> int:
        """Store the file's DAGs and import errors; returns how many errors were stored."""
        from headwater.dag_processing.serialized_dag import serialized_dag_hash

        now = self.clock.now()
        previous = self.store.get_dag_files().get(result.path)
        previous_ids = list(previous.dag_ids) if previous else []
        errors = [
            ImportErrorRow(result.path, e["message"], now, line=e.get("line"))
            for e in result.errors
        ]
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
                ):
                    errors.append(
                        ImportErrorRow(
                            result.path,
                            f"DagDefinitionError: DAG id {dag_id!r} is already defined in "
                            f"{existing.fileloc}",
                            now,
                        )
                    )
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
                        schedule=_schedule_text(spec.get("schedule")),
                        tags=list(spec.get("tags") or []),
                    )
                )
                dag_ids.append(dag_id)
        if errors:
            self.store.set_import_errors(result.path, errors)
        else:
            self.store.clear_import_errors(result.path)
        self.store.upsert_dag_file(result.path, digest, mtime, dag_ids, now)
        log.info("Parsed %s: %d DAG(s), %d error(s)", result.path, len(dag_ids), len(errors))
        return len(errors)


def _schedule_text(spec: Any) -> str | None:
    if spec is None:
        return None
    if isinstance(spec, dict) and "seconds" in spec:
        from datetime import timedelta

        return str(timedelta(seconds=spec["seconds"]))
    return str(spec)


def _kill(child: subprocess.Popen[bytes]) -> None:
    import signal

    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        child.communicate(timeout=_KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        # A process the file started left the process group (a new session) and holds the
        # pipes open: stop reading instead of waiting for it, which could be forever.
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()
        child.wait()
