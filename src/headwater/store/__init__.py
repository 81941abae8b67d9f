"""Where the engine keeps state: the ports (:mod:`headwater.store.ports`, and the engine's own
in :mod:`headwater.engine.ports`) and their implementations, ``MemoryStore`` and
``SqlStore`` (:mod:`headwater.store.sql`)."""

from headwater.store.base import Connection, MetadataStore
from headwater.store.memory import MemoryStore
from headwater.store.ports import Store

__all__ = ["Connection", "MemoryStore", "MetadataStore", "Store"]
