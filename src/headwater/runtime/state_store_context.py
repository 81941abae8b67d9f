"""The ``task_state_store`` and ``asset_state_store`` context keys (Airflow 3.3, AIP-103).

``task_state_store`` is a small key-value store of the running task instance, shared by all
its tries: a first try stores the id of the external job it started, and a retry reads it
and reattaches to the job instead of starting another::

    @task(retries=2)
    def run_job(task_state_store=None):
        job_id = task_state_store.get("job_id")
        if job_id is None:
            job_id = submit()
            task_state_store.set("job_id", job_id, retention=NEVER_EXPIRE)
        return wait_for(job_id)

``asset_state_store[asset]`` is the same for an asset among the task's inlets and outlets
(a watermark). Building either reads nothing: the store
(:class:`~headwater.store.state_stores.StateStore`) is read only when a method is called.
Under ``dags test`` the store is the run's memory store, so the tries of the run share it.
Values are JSON (a ``datetime`` goes in as ``value.isoformat()``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from headwater.exceptions import HeadwaterError
from headwater.store.state_stores import StateStore, TaskStateScope

if TYPE_CHECKING:
    from headwater.authoring.operator import BaseOperator
    from headwater.engine.records import DagRun
    from headwater.store.base import MetadataStore

NEVER_EXPIRE: timedelta = timedelta.max
"""``retention=NEVER_EXPIRE``: the key never expires (Airflow's
``airflow.sdk.execution_time.context.NEVER_EXPIRE``)."""

DEFAULT_RETENTION = timedelta(days=30)
"""How long a task-state key lives when ``set`` is given no ``retention`` (Airflow's
``[state_store] default_retention_days`` default)."""


class StateStoreUnavailableError(HeadwaterError, RuntimeError):
    """The store this attempt runs on keeps no task or asset state."""


def _now(store: MetadataStore) -> datetime:
    clock = getattr(store, "clock", None)
    return clock.now() if clock is not None else datetime.now(UTC)


def _state(store: MetadataStore, where: str) -> StateStore:
    if not isinstance(store, StateStore):
        raise StateStoreUnavailableError(
            f"{where}: the store this task runs on ({type(store).__name__}) keeps no state; "
            "run it on the metadata database or under `headwater dags test`"
        )
    return store


class TaskStateStoreAccessor:
    """``context["task_state_store"]``: the state of one task instance, kept across tries."""

    def __init__(self, store: MetadataStore, scope: TaskStateScope) -> None:
        self._store = store
        self._scope = scope

    def __repr__(self) -> str:
        return f"<TaskStateStoreAccessor {self._scope}>"

    def get(self, key: str, default: Any = None) -> Any:
        """The stored value of ``key``, or ``default`` when it is absent or expired."""
        store = _state(self._store, str(self._scope))
        value = store.get_task_state(self._scope, key, now=_now(self._store))
        return default if value is None else value

    def set(self, key: str, value: Any, *, retention: timedelta | None = None) -> None:
        """Store ``value`` (JSON, not None) for ``key``; it expires after ``retention``
        (:data:`NEVER_EXPIRE`: never; None: :data:`DEFAULT_RETENTION`)."""
        store = _state(self._store, str(self._scope))
        now = _now(self._store)
        if retention is not None and not isinstance(retention, timedelta):
            raise TypeError(
                f"{self._scope}: retention of state key {key!r} must be a timedelta or "
                f"NEVER_EXPIRE, not {retention!r}"
            )
        keep = DEFAULT_RETENTION if retention is None else retention
        try:
            expires_at = None if keep == NEVER_EXPIRE else now + keep
        except OverflowError:  # later than datetime can say: as good as never
            expires_at = None
        store.set_task_state(self._scope, key, value, expires_at=expires_at, now=now)

    def delete(self, key: str) -> None:
        """Delete ``key`` (nothing happens when it is absent)."""
        _state(self._store, str(self._scope)).delete_task_state(self._scope, key)

    def clear(self) -> None:
        """Delete every key of this task instance."""
        _state(self._store, str(self._scope)).clear_task_state(self._scope)

    async def aget(self, key: str, default: Any = None) -> Any:
        """:meth:`get` for ``async`` tasks (the read runs in a thread)."""
        return await asyncio.to_thread(self.get, key, default)

    async def aset(self, key: str, value: Any, *, retention: timedelta | None = None) -> None:
        """:meth:`set` for ``async`` tasks."""
        await asyncio.to_thread(lambda: self.set(key, value, retention=retention))

    async def adelete(self, key: str) -> None:
        """:meth:`delete` for ``async`` tasks."""
        await asyncio.to_thread(self.delete, key)

    async def aclear(self) -> None:
        """:meth:`clear` for ``async`` tasks."""
        await asyncio.to_thread(self.clear)


class AssetStateStoreAccessor:
    """The state of one asset (by its URI), shared by every task that names the asset."""

    def __init__(self, store: MetadataStore, uri: str) -> None:
        self._store = store
        self._uri = uri
        self._where = f"asset {uri!r}"

    def __repr__(self) -> str:
        return f"<AssetStateStoreAccessor {self._uri!r}>"

    def get(self, key: str, default: Any = None) -> Any:
        """The stored value of ``key``, or ``default`` when it is absent."""
        value = _state(self._store, self._where).get_asset_state(self._uri, key)
        return default if value is None else value

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON, not None) for ``key``; asset state never expires."""
        _state(self._store, self._where).set_asset_state(
            self._uri, key, value, now=_now(self._store)
        )

    def delete(self, key: str) -> None:
        """Delete ``key`` (nothing happens when it is absent)."""
        _state(self._store, self._where).delete_asset_state(self._uri, key)

    def clear(self) -> None:
        """Delete every key of the asset."""
        _state(self._store, self._where).clear_asset_state(self._uri)

    async def aget(self, key: str, default: Any = None) -> Any:
        return await asyncio.to_thread(self.get, key, default)

    async def aset(self, key: str, value: Any) -> None:
        await asyncio.to_thread(self.set, key, value)

    async def adelete(self, key: str) -> None:
        await asyncio.to_thread(self.delete, key)

    async def aclear(self) -> None:
        await asyncio.to_thread(self.clear)


class AssetStateStoreAccessors:
    """``context["asset_state_store"]``: ``[asset]`` gives the state of one of the task's
    inlet or outlet assets (by the asset, its URI or its name); a task with exactly one such
    asset may call ``get``/``set``/``delete``/``clear`` (and ``a...``) here directly."""

    def __init__(self, store: MetadataStore, assets: list[Any], task_id: str) -> None:
        self._task_id = task_id
        self._by_uri: dict[str, AssetStateStoreAccessor] = {}
        self._uri_of_name: dict[str, str] = {}
        for asset in assets:
            uri, name = getattr(asset, "uri", None), getattr(asset, "name", None)
            if isinstance(uri, str) and uri not in self._by_uri:
                self._by_uri[uri] = AssetStateStoreAccessor(store, uri)
                if isinstance(name, str):
                    self._uri_of_name.setdefault(name, uri)

    def __repr__(self) -> str:
        return f"<AssetStateStoreAccessors {sorted(self._by_uri)}>"

    def __len__(self) -> int:
        return len(self._by_uri)

    def __contains__(self, asset: object) -> bool:
        return self._uri(asset) in self._by_uri

    def __getitem__(self, asset: Any) -> AssetStateStoreAccessor:
        uri = self._uri(asset)
        if uri not in self._by_uri:
            known = ", ".join(sorted(self._by_uri)) or "none"
            raise KeyError(
                f"task {self._task_id!r}: {asset!r} is not among its inlets or outlets "
                f"(those are: {known}); add it to inlets= or outlets= to use its state"
            )
        return self._by_uri[uri]

    def _uri(self, asset: object) -> str | None:
        if isinstance(asset, str):
            return asset if asset in self._by_uri else self._uri_of_name.get(asset)
        uri = getattr(asset, "uri", None)
        if isinstance(uri, str):
            return uri
        name = getattr(asset, "name", None)  # a reference by name
        return self._uri_of_name.get(name) if isinstance(name, str) else None

    def _single(self) -> AssetStateStoreAccessor:
        if len(self._by_uri) != 1:
            raise ValueError(
                f"task {self._task_id!r} has {len(self._by_uri)} inlet and outlet assets: "
                "say which, as asset_state_store[MY_ASSET]"
            )
        return next(iter(self._by_uri.values()))

    def get(self, key: str, default: Any = None) -> Any:
        return self._single().get(key, default)

    def set(self, key: str, value: Any) -> None:
        self._single().set(key, value)

    def delete(self, key: str) -> None:
        self._single().delete(key)

    def clear(self) -> None:
        self._single().clear()

    async def aget(self, key: str, default: Any = None) -> Any:
        return await self._single().aget(key, default)

    async def aset(self, key: str, value: Any) -> None:
        await self._single().aset(key, value)

    async def adelete(self, key: str) -> None:
        await self._single().adelete(key)

    async def aclear(self) -> None:
        await self._single().aclear()


def state_store_context(
    task: BaseOperator, run: DagRun, ti: Any, store: MetadataStore
) -> dict[str, Any]:
    """The two context entries of one attempt of ``task`` (reading nothing yet)."""
    scope = TaskStateScope(run.dag_id, run.run_id, task.task_id, getattr(ti, "map_index", -1))
    assets = [*task.inlets, *task.outlets]
    return {
        "task_state_store": TaskStateStoreAccessor(store, scope),
        "asset_state_store": AssetStateStoreAccessors(store, assets, task.task_id),
    }
