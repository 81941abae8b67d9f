"""Where the engine keeps state: the :class:`MetadataStore` interface and its implementations."""

from headwater.store.base import Connection, MetadataStore
from headwater.store.memory import MemoryStore

__all__ = ["Connection", "MemoryStore", "MetadataStore"]
