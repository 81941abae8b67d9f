"""The store interface: everything the engine and the task runtime persist.

Implementations: :class:`~headwater.store.memory.MemoryStore` (for ``dags test`` and users'
tests); a SQL store (SQLite, PostgreSQL) follows the same contract. Each write method is
atomic: when it returns, the change is committed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from headwater.engine.records import (
    AttemptKey,
    AttemptOutcome,
    DagRun,
    TaskAttempt,
    TaskInstance,
    TaskInstanceKey,
)


@dataclass
class Connection:
    """Where and how to reach an external system; ``conn.<id>`` in templates."""

    conn_id: str
    conn_type: str = ""
    host: str | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None
    port: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_uri(cls, conn_id: str, uri: str) -> Connection:
        """``postgresql://user:pw@host:5432/db?sslmode=require`` -> Connection."""
        from urllib.parse import parse_qsl

        parts = urlsplit(uri)
        return cls(
            conn_id=conn_id,
            conn_type=parts.scheme.replace("-", "_"),
            host=unquote(parts.hostname) if parts.hostname else None,
            login=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            schema=unquote(parts.path.lstrip("/")) or None,
            port=parts.port,
            extra=dict(parse_qsl(parts.query)),
        )

    def get_uri(self) -> str:
        auth = ""
        if self.login:
            auth = quote(self.login, safe="")
            if self.password:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        port = f":{self.port}" if self.port else ""
        path = f"/{quote(self.schema)}" if self.schema else ""
        return f"{self.conn_type}://{auth}{self.host or ''}{port}{path}"


class MetadataStore(ABC):
    """Runs, task instances, attempts, XComs, variables and connections."""

    # -- runs ----------------------------------------------------------------------------------
    @abstractmethod
    def create_dag_run(self, run: DagRun, task_instances: Iterable[TaskInstance]) -> None:
        """Store a new run with its initial task instances, atomically."""

    @abstractmethod
    def get_dag_run(self, dag_id: str, run_id: str) -> DagRun | None: ...

    @abstractmethod
    def save_dag_run(self, run: DagRun) -> None: ...

    @abstractmethod
    def list_dag_runs(self, dag_id: str) -> list[DagRun]: ...

    # -- task instances ------------------------------------------------------------------------
    @abstractmethod
    def save_task_instances(
        self, task_instances: Iterable[TaskInstance], *, delete: Iterable[TaskInstanceKey] = ()
    ) -> None:
        """Insert or update instances (and delete ``delete``) in one atomic change."""

    @abstractmethod
    def get_task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]: ...

    # -- attempts ------------------------------------------------------------------------------
    @abstractmethod
    def save_attempt(self, attempt: TaskAttempt) -> None:
        """Insert or update the row of one try."""

    def save_attempt_with_task_instances(
        self,
        attempt: TaskAttempt,
        task_instances: Iterable[TaskInstance],
        *,
        delete: Iterable[TaskInstanceKey] = (),
    ) -> None:
        """:meth:`save_attempt` and :meth:`save_task_instances` as one atomic change (an
        attempt starting or ending with the state changes it causes). Stores that can do it
        in one transaction override this."""
        self.save_attempt(attempt)
        self.save_task_instances(task_instances, delete=delete)

    @abstractmethod
    def get_attempts(
        self, dag_id: str, run_id: str, task_id: str | None = None
    ) -> list[TaskAttempt]: ...

    @abstractmethod
    def get_attempt(self, key: AttemptKey) -> TaskAttempt | None:
        """The row of one try, with its recorded outcome if it has one."""

    @abstractmethod
    def record_attempt_outcome(
        self,
        key: AttemptKey,
        outcome: AttemptOutcome,
        end_date: datetime,
        xcoms: Mapping[str, str] | None = None,
    ) -> bool:
        """End the attempt ``key`` with ``outcome`` and store the XComs its instance pushed,
        in one atomic change, **if the attempt is still running** (compare-and-set).

        Returns False, writing nothing, when it is not: someone else ended it first (a
        scheduler that took it for lost, a kill) or it never started. The caller's outcome is
        then stale and must not be applied. The attempt row keeps ``outcome`` (state, error,
        retry decision, branches, short circuit), what a scheduler that restarts applies
        instead of running the attempt again.
        """

    # -- xcom ----------------------------------------------------------------------------------
    @abstractmethod
    def set_xcom(self, key: TaskInstanceKey, name: str, value: str) -> None: ...

    @abstractmethod
    def get_xcom(self, key: TaskInstanceKey, name: str) -> str | None: ...

    @abstractmethod
    def get_mapped_xcoms(self, dag_id: str, run_id: str, task_id: str, name: str) -> list[str]:
        """The values of every map index of ``task_id``, in map-index order."""

    @abstractmethod
    def clear_xcoms(self, key: TaskInstanceKey) -> None: ...

    # -- variables and connections -------------------------------------------------------------
    @abstractmethod
    def get_variable(self, name: str) -> str | None: ...

    @abstractmethod
    def set_variable(self, name: str, value: str) -> None: ...

    @abstractmethod
    def get_connection(self, conn_id: str) -> Connection | None: ...

    @abstractmethod
    def set_connection(self, connection: Connection) -> None: ...
