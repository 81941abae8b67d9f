"""Asset watchers: event-driven scheduling (Airflow 3's ``AssetWatcher``, AIP-82).

An asset may carry watchers: each names a trigger the triggerer runs for as long as a DAG
scheduled on the asset is active and unpaused. Every event the trigger yields is recorded as
an event of the asset (its ``extra`` says which watcher, and holds the payload), so the DAGs
scheduled on the asset run; then the trigger starts again::

    inbox = Asset(
        "inbox",
        watchers=[AssetWatcher(name="flag", trigger=FileDeleteTrigger("/data/inbox/ready"))],
    )
    DAG("load_inbox", schedule=[inbox])

Pure description, no I/O: the trigger is only serialized here (its classpath and keyword
arguments, what the triggerer builds it again from), so a trigger that cannot be stored
fails when the DAG file loads, naming the asset and the watcher.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from headwater.exceptions import DagDefinitionError

if TYPE_CHECKING:  # imported when used: ``import headwater`` loads no trigger module
    from headwater.triggers.base import BaseTrigger

__all__ = ["AssetWatcher", "check_watchers", "watcher_from_json"]

MAX_WATCHER_NAME = 250


class AssetWatcher:
    """A trigger whose events update an asset: ``AssetWatcher(name="w", trigger=...)``.

    ``trigger`` must be a headwater trigger (:class:`~headwater.triggers.base.BaseTrigger`)
    whose :meth:`~headwater.triggers.base.BaseTrigger.serialize` gives an importable
    classpath and JSON keyword arguments: the triggerer, in another process, builds it again
    from them each time it (re)starts the watcher.
    """

    def __init__(self, name: str, trigger: BaseTrigger) -> None:
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_WATCHER_NAME:
            raise DagDefinitionError(
                f"an asset watcher's name must be a non-empty string of at most "
                f"{MAX_WATCHER_NAME} characters, got {name!r:.80}"
            )
        self.name = name
        from headwater.triggers.base import BaseTrigger

        if not isinstance(trigger, BaseTrigger):
            raise DagDefinitionError(
                f"asset watcher {name!r}: trigger must be a headwater trigger (a BaseTrigger, "
                f"e.g. FileDeleteTrigger), got {trigger!r:.80}"
            )
        self.classpath, self.kwargs = _serialized(name, trigger)
        self._trigger: BaseTrigger | None = trigger

    @classmethod
    def _stored(cls, name: str, classpath: str, kwargs: Mapping[str, Any]) -> AssetWatcher:
        """A watcher read back from a serialized DAG: its trigger is built on first use."""
        watcher = cls.__new__(cls)
        watcher.name, watcher.classpath, watcher.kwargs = name, classpath, dict(kwargs)
        watcher._trigger = None
        return watcher

    @property
    def trigger(self) -> BaseTrigger:
        """The trigger (built from its classpath and kwargs for a watcher read back)."""
        if self._trigger is None:
            from headwater.triggers.base import build_trigger

            self._trigger = build_trigger(self.classpath, self.kwargs)
        return self._trigger

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetWatcher) and (
            (other.name, other.classpath, other.kwargs) == (self.name, self.classpath, self.kwargs)
        )

    def __hash__(self) -> int:
        return hash(("watcher", self.name, self.classpath))

    def __repr__(self) -> str:
        return f"AssetWatcher({self.name!r}, {self.classpath})"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "trigger": {"classpath": self.classpath, "kwargs": self.kwargs}}


def _serialized(name: str, trigger: BaseTrigger) -> tuple[str, dict[str, Any]]:
    try:
        classpath, kwargs = trigger.serialize()
    except Exception as exc:
        raise DagDefinitionError(
            f"asset watcher {name!r}: its trigger cannot be serialized: {exc}"
        ) from None
    module, _, attr = classpath.rpartition(".") if isinstance(classpath, str) else ("", "", "")
    if not module or not attr or module == "__main__":
        raise DagDefinitionError(
            f"asset watcher {name!r}: the trigger's classpath {classpath!r} cannot be imported "
            f"by the triggerer: define the trigger class in an importable module"
        )
    if not isinstance(kwargs, dict):
        raise DagDefinitionError(
            f"asset watcher {name!r}: the trigger's serialize() must give a dict of keyword "
            f"arguments, got {kwargs!r:.80}"
        )
    try:  # as stored: tuples come back as lists
        stored: dict[str, Any] = json.loads(json.dumps(kwargs, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise DagDefinitionError(
            f"asset watcher {name!r}: the trigger's keyword arguments are not JSON: {exc}"
        ) from None
    return classpath, stored


def check_watchers(watchers: Iterable[Any] | None, uri: str) -> list[AssetWatcher]:
    """``Asset(watchers=...)``: AssetWatcher objects with distinct names; an error names the
    asset."""
    if watchers is None:
        return []
    if isinstance(watchers, AssetWatcher | str) or not isinstance(watchers, Iterable):
        raise DagDefinitionError(
            f"asset {uri!r}: watchers takes a list of AssetWatcher, got {watchers!r:.80}"
        )
    checked: list[AssetWatcher] = []
    for watcher in watchers:
        if not isinstance(watcher, AssetWatcher):
            raise DagDefinitionError(
                f"asset {uri!r}: watchers takes AssetWatcher objects, got {watcher!r:.80}"
            )
        if any(w.name == watcher.name for w in checked):
            raise DagDefinitionError(
                f"asset {uri!r}: two watchers are named {watcher.name!r}; names must differ"
            )
        checked.append(watcher)
    return checked


def watcher_from_json(data: Any) -> AssetWatcher:
    """The watcher :meth:`AssetWatcher.to_json` wrote."""
    if not isinstance(data, Mapping) or not isinstance(data.get("trigger"), Mapping):
        raise ValueError(f"not an asset watcher: {data!r:.80}")
    trigger = data["trigger"]
    name, classpath, kwargs = data.get("name"), trigger.get("classpath"), trigger.get("kwargs")
    if not isinstance(name, str) or not isinstance(classpath, str) or not isinstance(kwargs, dict):
        raise ValueError(f"not an asset watcher: {data!r:.80}")
    return AssetWatcher._stored(name, classpath, kwargs)
