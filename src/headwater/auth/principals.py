"""Who is asking, and what they may do: the one place permissions are decided.

Every user has one role. A role has a *level* and may be limited to DAGs carrying given
tags:

* ``viewer``: reads everything it may see; connection secrets and variable values named
  like secrets are masked (as they are for everyone).
* ``op``: a viewer that also operates DAGs (trigger, clear, mark, pause, backfill) and,
  unless the role is limited to tags, manages pools, variables and connections.
* ``admin``: everything, users, roles and tokens included. An admin role is never limited.

The built-in roles ``admin``, ``op`` and ``viewer`` see every DAG. A role made with
``headwater roles create team-a --level op --dag-tag team-a`` sees and operates only the
DAGs tagged ``team-a``, in lists, pages and the API alike; global resources (pools,
variables, connections) are read-only to it. Example::

    principal = Principal("alice", role="team-a", level="op", dag_tags=frozenset({"team-a"}))
    principal.can_operate_dag(["team-a", "nightly"])  # True
    principal.can_read_dag(["team-b"])  # False
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Level = Literal["viewer", "op", "admin"]
LEVELS: tuple[Level, ...] = ("viewer", "op", "admin")
"""From the least to the most allowed."""

BUILT_IN_ROLES: dict[str, Level] = {"admin": "admin", "op": "op", "viewer": "viewer"}
"""The roles every installation has, each named after its level, none limited to tags."""


@dataclass(frozen=True)
class Principal:
    """An authenticated user as one request sees them."""

    username: str
    role: str
    level: Level
    dag_tags: frozenset[str] | None = None
    """The tags a DAG needs one of for this user to see it; None: every DAG."""
    via: Literal["session", "token"] = "session"
    """How the request proved who it is (a session cookie needs a CSRF token to write)."""

    def at_least(self, level: Level) -> bool:
        return LEVELS.index(self.level) >= LEVELS.index(level)

    @property
    def is_admin(self) -> bool:
        return self.level == "admin"

    def can_read_dag(self, tags: Iterable[str]) -> bool:
        """Whether a DAG with ``tags`` is visible to this user."""
        return self.dag_tags is None or not self.dag_tags.isdisjoint(tags)

    def can_operate_dag(self, tags: Iterable[str]) -> bool:
        """Whether this user may trigger, clear, mark, pause or backfill a DAG with ``tags``."""
        return self.at_least("op") and self.can_read_dag(tags)

    @property
    def can_manage_globals(self) -> bool:
        """Whether this user may change pools, variables and connections."""
        return self.at_least("op") and self.dag_tags is None
