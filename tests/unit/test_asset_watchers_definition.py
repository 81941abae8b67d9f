"""Asset watchers as DAG files define them: validated when built (names, triggers that the
triggerer can build again), stored with the asset in the serialized DAG and read back, and
the file triggers they use (FileDeleteTrigger, DirectoryFileDeleteTrigger) take their file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from headwater import DAG
from headwater.authoring.asset_watchers import AssetWatcher
from headwater.authoring.assets import Asset, condition_from_json
from headwater.dag_processing.serialized_assets import StoredWatcher, schedule_watchers
from headwater.dag_processing.serialized_dag import deserialize_dag, serialize_dag
from headwater.exceptions import DagDefinitionError, HeadwaterError
from headwater.operators import EmptyOperator
from headwater.triggers.base import BaseTrigger, TriggerEvent
from headwater.triggers.file import DirectoryFileDeleteTrigger, FileDeleteTrigger

START = datetime(2024, 1, 1, tzinfo=UTC)


class _TupleTrigger(BaseTrigger):
    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("tests.somewhere.TupleTrigger", {"pair": (1, 2)})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        yield TriggerEvent(None)


class _MainTrigger(_TupleTrigger):
    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("__main__.MainTrigger", {})


class _ObjectTrigger(_TupleTrigger):
    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("pkg.ObjectTrigger", {"when": object()})


def _watched(path: str = "/tmp/flag") -> Asset:
    return Asset("inbox", watchers=[AssetWatcher("flag", FileDeleteTrigger(path))])


def test_a_watcher_holds_its_trigger_serialized() -> None:
    watcher = AssetWatcher(name="w", trigger=_TupleTrigger())
    assert watcher.classpath == "tests.somewhere.TupleTrigger"
    assert watcher.kwargs == {"pair": [1, 2]}  # as stored
    assert _watched().watchers[0].to_json() == {
        "name": "flag",
        "trigger": {
            "classpath": "headwater.triggers.file.FileDeleteTrigger",
            "kwargs": {"filepath": "/tmp/flag", "poke_interval": 5.0},
        },
    }


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: AssetWatcher("", FileDeleteTrigger("/x")), "name must be a non-empty"),
        (lambda: AssetWatcher("w", "not a trigger"), "trigger must be a headwater trigger"),
        (lambda: AssetWatcher("w", _MainTrigger()), "cannot be imported by the triggerer"),
        (lambda: AssetWatcher("w", _ObjectTrigger()), "keyword arguments are not JSON"),
        (lambda: Asset("a", watchers=AssetWatcher("w", FileDeleteTrigger("/x"))), "a list"),
        (lambda: Asset("a", watchers=["w"]), "takes AssetWatcher objects"),
        (
            lambda: Asset(
                "a",
                watchers=[
                    AssetWatcher("w", FileDeleteTrigger("/x")),
                    AssetWatcher("w", FileDeleteTrigger("/y")),
                ],
            ),
            "two watchers are named 'w'",
        ),
    ],
)
def test_bad_watchers_fail_when_defined(build: Any, message: str) -> None:
    with pytest.raises(DagDefinitionError, match=message):
        build()


def test_watchers_are_stored_with_the_asset_and_read_back() -> None:
    other = Asset("plain")
    with DAG("watched", start_date=START, schedule=_watched() | other) as dag:
        EmptyOperator(task_id="t")
    data = serialize_dag(dag)
    assert schedule_watchers(data) == [
        StoredWatcher(
            "inbox",
            "flag",
            "headwater.triggers.file.FileDeleteTrigger",
            {"filepath": "/tmp/flag", "poke_interval": 5.0},
        )
    ]
    back = deserialize_dag(data).asset_condition
    assert back is not None
    assets = {a.uri: a for a in back.iter_assets()}
    assert assets["plain"].watchers == []
    [watcher] = assets["inbox"].watchers
    assert watcher == _watched().watchers[0]
    assert isinstance(watcher.trigger, FileDeleteTrigger)  # built again on first use
    assert watcher.trigger.filepath == "/tmp/flag"


def test_an_asset_without_watchers_serializes_as_before() -> None:
    assert "watchers" not in Asset("a").to_json()["asset"]
    assert condition_from_json({"asset": {"uri": "a"}}) == Asset("a")
    assert schedule_watchers(None) == []
    assert schedule_watchers({"dag": {"asset_condition": None}}) == []


def test_file_delete_trigger_takes_the_file(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    flag.write_text("x")

    async def first() -> TriggerEvent:
        return await anext(FileDeleteTrigger(str(flag), poke_interval=0.01).run())

    assert asyncio.run(first()).payload == {"filepath": str(flag)}
    assert not flag.exists()


def test_directory_file_delete_trigger_waits_for_its_own_file(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"  # missing at first: the trigger keeps looking
    trigger = DirectoryFileDeleteTrigger(
        directory=str(inbox), filename="us.flag", poke_interval=0.01
    )

    async def scenario() -> TriggerEvent:
        events = trigger.run()
        waiting = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        inbox.mkdir()
        (inbox / "eu.flag").write_text("not mine")
        await asyncio.sleep(0.05)
        assert not waiting.done()
        (inbox / "us.flag").write_text("mine")
        return await asyncio.wait_for(waiting, 5)

    assert asyncio.run(scenario()).payload == {"filepath": str(inbox / "us.flag")}
    assert sorted(p.name for p in inbox.iterdir()) == ["eu.flag"]
    assert trigger.serialize()[1] == {
        "directory": str(inbox),
        "filename": "us.flag",
        "poke_interval": 0.01,
    }


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: FileDeleteTrigger(""), "filepath must be"),
        (lambda: FileDeleteTrigger("/x", poke_interval=0), "poke_interval must be > 0"),
        (
            lambda: DirectoryFileDeleteTrigger(directory="/d", filename="a/b"),
            "without a folder",
        ),
    ],
)
def test_file_delete_triggers_check_their_arguments(build: Any, message: str) -> None:
    with pytest.raises(HeadwaterError, match=message):
        build()
