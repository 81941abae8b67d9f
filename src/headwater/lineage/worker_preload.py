"""What every process that runs task attempts would do at its first OpenLineage event, done
once where workers are forked from: the scheduler has its fork server import this module
when ``[lineage] transport`` sends events (``headwater.scheduler.service``).

Importing it loads the client's UUID function (:mod:`~headwater.lineage.run_ids`) and the
producer URI, so a worker forked afterwards starts emitting without them: about 7 ms of CPU
per worker process, which a run of short tasks on workers started on demand pays again and
again. With lineage off nothing imports it; without the client installed it loads nothing.
"""

from __future__ import annotations

from headwater.lineage.events import producer
from headwater.lineage.run_ids import generate_static_uuid

producer()
try:
    generate_static_uuid()
except ImportError:  # no client installed: the first event says so, as without the preload
    pass
