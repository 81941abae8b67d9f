""":class:`SqlPorts`: every port's SQL methods in one class, over ``_read`` and ``_write``.

:class:`~headwater.store.sql.store.SqlStore` runs them one transaction per call;
:class:`~headwater.store.sql.unit_of_work.SqlUnitOfWork` runs them all in one.
"""

from __future__ import annotations

from headwater.store.sql.asset_queue import SqlAssetQueue
from headwater.store.sql.assets import SqlAssets
from headwater.store.sql.attempts import SqlAttempts
from headwater.store.sql.backfills import SqlBackfills
from headwater.store.sql.browse import SqlBrowse
from headwater.store.sql.claims import SqlClaims
from headwater.store.sql.config import SqlConfig
from headwater.store.sql.dags import SqlDags
from headwater.store.sql.deadlines import SqlDeadlines
from headwater.store.sql.events import SqlEvents
from headwater.store.sql.jobs import SqlJobs
from headwater.store.sql.metrics import SqlMetrics
from headwater.store.sql.past_runs import SqlPastRuns
from headwater.store.sql.retention import SqlRetention
from headwater.store.sql.runs import SqlRuns
from headwater.store.sql.state_stores import SqlStateStores
from headwater.store.sql.triggers import SqlTriggers
from headwater.store.sql.users import SqlUsers
from headwater.store.sql.xcoms import SqlXComs


class SqlPorts(
    SqlRuns,
    SqlAttempts,
    SqlXComs,
    SqlDags,
    SqlConfig,
    SqlEvents,
    SqlJobs,
    SqlBackfills,
    SqlClaims,
    SqlBrowse,
    SqlUsers,
    SqlTriggers,
    SqlAssets,
    SqlAssetQueue,
    SqlRetention,
    SqlDeadlines,
    SqlMetrics,
    SqlPastRuns,
    SqlStateStores,
):
    """Runs, task instances, attempts, XComs, DAGs, pools, variables, connections, events,
    jobs, backfills, claims, browsing reads, accounts (users, roles, tokens, sessions),
    triggers, deadlines, task and asset state, data retention, the counts of ``/metrics`` and
    the reads of earlier runs (``depends_on_past``) on SQL."""
