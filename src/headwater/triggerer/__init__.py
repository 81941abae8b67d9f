"""The triggerer: the asyncio daemon that runs the triggers of deferred tasks.

:class:`~headwater.triggerer.triggerer.Triggerer` claims waiting triggers (leases), runs
them on one event loop (:mod:`~headwater.triggerer.runner`) and fires each once;
:mod:`~headwater.triggerer.service` starts it as ``headwater triggerer`` or beside a
scheduler.
"""

from headwater.triggerer.triggerer import Triggerer

__all__ = ["Triggerer"]
