"""The state-store port: small durable key-value state of a task instance and of an asset.

Airflow 3.3 (AIP-103) gives tasks ``task_state_store`` and ``asset_state_store``; this is
where their values live (:mod:`headwater.runtime.state_store_context` hands them to tasks).

* **Task state** is keyed by the task instance (:class:`TaskStateScope`: dag, run, task, map
  index) and a key. Every try of the instance sees the same rows, which is the point: a
  retry finds the job id its first try stored and reattaches to the job instead of starting
  a second one. A row may expire (``expires_at``): an expired row reads as absent and is
  removed by :meth:`StateStore.delete_expired_task_state` (each clean-up of old data runs it:
  ``db clean`` and the daily one). Rows go with their run (the SQL
  foreign key cascades; ``db clean`` removes them with it).
* **Asset state** is keyed by the asset's URI (its identity in headwater) and a key,
  shared by every DAG that names the asset (a watermark a producer advances and a
  consumer reads). It never expires.

Values are JSON: the port takes and returns JSON values (``str``, numbers, ``bool``,
``list``, ``dict``, never ``None``) and stores their text, so the memory and SQL stores give
back exactly the same thing (a tuple comes back a list, as JSON has no tuples)::

    store.set_task_state(scope, "job_id", "job-42", expires_at=None, now=now)
    store.get_task_state(scope, "job_id", now=now)  # "job-42"
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from headwater.strict_json import InvalidJsonError, dumps, loads

__all__ = ["StateStore", "TaskStateScope", "decode_state_value", "encode_state_value"]

MAX_KEY_LENGTH = 512
"""The longest key a state row may have (the SQL column's length)."""


@dataclass(frozen=True)
class TaskStateScope:
    """The task instance whose state is read or written: every try shares it."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1

    def __str__(self) -> str:
        mapped = f"[{self.map_index}]" if self.map_index >= 0 else ""
        return f"task {self.dag_id}.{self.task_id}{mapped} of run {self.run_id!r}"


def check_state_key(key: str, where: str) -> None:
    """``ValueError`` naming ``where`` (the scope) unless ``key`` is a usable state key."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"{where}: a state key must be a non-empty string, not {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(
            f"{where}: state key {key[:40]!r}... is {len(key)} characters long "
            f"(at most {MAX_KEY_LENGTH})"
        )


def encode_state_value(value: Any, key: str, where: str) -> str:
    """The JSON text of ``value``, stored for ``key`` of ``where``; ``ValueError`` for None
    and ``TypeError``/``ValueError`` naming the key for what JSON cannot hold."""
    check_state_key(key, where)
    if value is None:
        raise ValueError(f"{where}: cannot store None for state key {key!r} (delete it instead)")
    try:
        return dumps(value)
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            f"{where}: the value of state key {key!r} is not JSON ({exc}); store a str, "
            "number, bool, list or dict (a datetime as value.isoformat())"
        ) from exc


def decode_state_value(text: str, key: str) -> Any:
    """The JSON value stored as ``text`` for ``key``."""
    try:
        return loads(text, f"state key {key!r}")
    except InvalidJsonError:  # written by hand or by another tool: show it as it is
        return text


class StateStore(ABC):
    """Task-instance and asset state: JSON values by key (see the module docstring).

    Reads take ``now`` so that an expired row reads as absent on every store at once,
    whatever the row's clean-up has done yet.
    """

    @abstractmethod
    def get_task_state(self, scope: TaskStateScope, key: str, *, now: datetime) -> Any:
        """The value of ``key`` for the instance ``scope``; None if absent or expired."""

    @abstractmethod
    def set_task_state(
        self,
        scope: TaskStateScope,
        key: str,
        value: Any,
        *,
        expires_at: datetime | None,
        now: datetime,
    ) -> None:
        """Write (or overwrite) ``key``; it reads as absent from ``expires_at`` on (never
        with None). ``ValueError`` for None, ``TypeError`` for what JSON cannot hold."""

    @abstractmethod
    def delete_task_state(self, scope: TaskStateScope, key: str) -> bool:
        """Delete ``key``; False if there was none."""

    @abstractmethod
    def clear_task_state(self, scope: TaskStateScope) -> int:
        """Delete every key of the instance ``scope``; how many."""

    @abstractmethod
    def list_task_state(self, scope: TaskStateScope, *, now: datetime) -> dict[str, Any]:
        """Every unexpired key of the instance ``scope`` with its value, by key."""

    @abstractmethod
    def delete_expired_task_state(self, now: datetime) -> int:
        """Delete every task-state row expired at ``now``; how many."""

    @abstractmethod
    def get_asset_state(self, asset: str, key: str) -> Any:
        """The value of ``key`` of the asset whose URI is ``asset``; None if absent."""

    @abstractmethod
    def set_asset_state(self, asset: str, key: str, value: Any, *, now: datetime) -> None:
        """Write (or overwrite) ``key`` of the asset whose URI is ``asset`` (errors as for
        :meth:`set_task_state`)."""

    @abstractmethod
    def delete_asset_state(self, asset: str, key: str) -> bool:
        """Delete ``key`` of the asset; False if there was none."""

    @abstractmethod
    def clear_asset_state(self, asset: str) -> int:
        """Delete every key of the asset; how many."""

    @abstractmethod
    def list_asset_state(self, asset: str) -> dict[str, Any]:
        """Every key of the asset with its value, by key."""
