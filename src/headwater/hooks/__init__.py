"""Hooks: clients for external systems, each configured by a connection id
(docs/integrations.md)."""

from headwater.hooks.base import BaseHook

__all__ = ["BaseHook"]
