"""``AssetAccessControl``: Airflow 3.3's per-asset team rules, accepted and ignored.

In Airflow, ``Asset(..., access_control=AssetAccessControl(producer_teams=[...],
allow_global=False))`` only steers its multi-team mode: which teams' DAGs may emit events
that trigger the DAGs scheduled on the asset. headwater has no teams, so every producer's
events reach every consumer, as in Airflow without multi-team mode. The object is kept on
the asset (``asset.access_control``) so a DAG file that builds one runs unchanged; it
changes nothing in how runs are triggered.
"""

from __future__ import annotations

from collections.abc import Iterable

from headwater.exceptions import DagDefinitionError

__all__ = ["AssetAccessControl"]


class AssetAccessControl:
    """Which teams may produce (``producer_teams``) or consume (``consumer_teams``) an
    asset's events, and whether DAGs of no team may (``allow_global``). Checked for its
    types, then ignored (see the module's docstring)::

        Asset("s3://lake/out.csv", access_control=AssetAccessControl(producer_teams=["ml"]))
    """

    def __init__(
        self,
        producer_teams: Iterable[str] | None = None,
        consumer_teams: Iterable[str] | None = None,
        allow_global: bool = True,
    ) -> None:
        self.producer_teams = _teams(producer_teams, "producer_teams") or []
        self.consumer_teams = _teams(consumer_teams, "consumer_teams")
        if not isinstance(allow_global, bool):
            raise DagDefinitionError(
                f"AssetAccessControl: allow_global must be True or False, got {allow_global!r:.80}"
            )
        self.allow_global = allow_global

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetAccessControl) and (
            other.producer_teams,
            other.consumer_teams,
            other.allow_global,
        ) == (self.producer_teams, self.consumer_teams, self.allow_global)

    def __hash__(self) -> int:
        consumers = None if self.consumer_teams is None else tuple(self.consumer_teams)
        return hash((tuple(self.producer_teams), consumers, self.allow_global))

    def __repr__(self) -> str:
        return (
            f"AssetAccessControl(producer_teams={self.producer_teams!r}, "
            f"consumer_teams={self.consumer_teams!r}, allow_global={self.allow_global!r})"
        )


def _teams(value: Iterable[str] | None, field: str) -> list[str] | None:
    if value is None:
        return None
    teams = [value] if isinstance(value, str) else list(value)
    for team in teams:
        if not isinstance(team, str) or not team:
            raise DagDefinitionError(
                f"AssetAccessControl: {field} takes team names (strings), got {team!r:.80}"
            )
    return teams
