"""A store in process memory: what ``dags test`` and users' tests run on, and the reference
the SQL store's contract suite compares against.

One module per concern, each a class over the shared state of ``core``: ``runs``,
``task_instances`` (with attempts and their liveness), ``xcoms``, ``dags`` (DAG files, DAGs,
import errors), ``config`` (pools, variables, connections), ``events`` (events and jobs),
``backfills``, ``claims`` (which scheduler owns which run), ``users`` (users, roles, API
tokens, sessions, failed logins); ``store`` puts them together as
:class:`MemoryStore`.
"""

from headwater.store.memory.store import MemoryStore

__all__ = ["MemoryStore"]
