"""Reading and writing values passed between tasks, with serialization and a size limit.

With the object-store backend (``xcom.backend = "object_store"``), a push may write the value
to a file first (:mod:`headwater.xcom_objects`) and store a reference; a pull of a reference
reads the file back, whichever backend is set now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.authoring.xcom_arg import RETURN_VALUE, XComArg
from headwater.engine.records import TaskInstanceKey
from headwater.exceptions import XComError
from headwater.xcom_objects import XComLocation, load_value, object_store_for

if TYPE_CHECKING:
    from headwater.engine.ports import XComStore
    from headwater.settings import Settings
    from headwater.xcom_objects import XComObjectStore
    from headwater.xcom_serializers import Serializer


class XComs:
    """XCom access for one store: serialize on push, deserialize on pull."""

    def __init__(
        self,
        store: XComStore,
        serializer: Serializer,
        max_bytes: int,
        objects: XComObjectStore | None = None,
    ) -> None:
        self.store = store
        self.serializer = serializer
        self.max_bytes = max_bytes
        self.objects = objects

    @classmethod
    def from_settings(cls, store: XComStore, settings: Settings) -> XComs:
        """XComs as ``settings`` say: their serializer, size limit and backend."""
        from headwater.xcom_serializers import load_serializer

        serializer = load_serializer(settings.xcom.serializer)
        objects = object_store_for(settings, serializer)
        return cls(store, serializer, settings.xcom.max_size_bytes, objects)

    def push(self, key: TaskInstanceKey, name: str, value: Any) -> None:
        if self.objects is not None:
            location = XComLocation(key.dag_id, key.run_id, key.task_id, key.map_index, name)
            text = self.objects.encode(location, value)
        else:
            text = self.serializer.dumps(value)
        size = len(text.encode())  # what the database would hold
        if size > self.max_bytes:
            raise XComError(
                f"task {key.label!r}: XCom {name!r} is {size} bytes, over the limit of "
                f"{self.max_bytes} bytes (setting xcom.max_size_bytes); store large data "
                "elsewhere and pass a reference to it"
            )
        self._write(key, name, text)

    def _write(self, key: TaskInstanceKey, name: str, text: str) -> None:
        self.store.set_xcom(key, name, text)

    def _read(self, key: TaskInstanceKey, name: str) -> str | None:
        return self.store.get_xcom(key, name)

    def pull(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        *,
        map_index: int | None = None,
        name: str = RETURN_VALUE,
        mapped: bool = False,
    ) -> Any:
        """One value, or, for a mapped task with no ``map_index``, the list of all of them."""
        if mapped and map_index is None:
            texts = self.store.get_mapped_xcoms(dag_id, run_id, task_id, name)
            return [load_value(t, self.serializer) for t in texts]
        key = TaskInstanceKey(dag_id, run_id, task_id, -1 if map_index is None else map_index)
        text = self._read(key, name)
        return None if text is None else load_value(text, self.serializer)

    def resolve(self, ref: XComArg, dag_id: str, run_id: str) -> Any:
        """The value a reference stands for in a run (a list for a mapped task, unless the
        reference is pinned to one map index)."""
        if ref.map_index is not None:
            return self.pull(
                dag_id, run_id, ref.operator.task_id, map_index=ref.map_index, name=ref.key
            )
        return self.pull(
            dag_id, run_id, ref.operator.task_id, name=ref.key, mapped=ref.operator.is_mapped
        )

    def resolve_nested(self, value: Any, dag_id: str, run_id: str) -> Any:
        """``value`` with every reference inside lists, tuples and dicts replaced."""
        if isinstance(value, XComArg):
            return self.resolve(value, dag_id, run_id)
        if isinstance(value, list):
            return [self.resolve_nested(v, dag_id, run_id) for v in value]
        if isinstance(value, tuple):
            return tuple(self.resolve_nested(v, dag_id, run_id) for v in value)
        if isinstance(value, dict):
            return {k: self.resolve_nested(v, dag_id, run_id) for k, v in value.items()}
        return value
