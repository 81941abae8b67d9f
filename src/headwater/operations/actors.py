"""Who is acting: what the operations record as each event's ``actor``.

The context variable itself lives in :mod:`headwater.actors`, which imports nothing, so that
the CLI sets it when a command starts without importing the operations; this module is where
the operations and the services read it. See there for how the REST API and the CLI set it.
"""

from __future__ import annotations

from headwater.actors import act_as_for_this_context, acting_as, current_actor

__all__ = ["act_as_for_this_context", "acting_as", "current_actor"]
