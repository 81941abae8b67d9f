"""Timetables stored with their DAG (classpath + JSON) and rebuilt without the DAG file: the
built-ins round-trip, a custom one is imported from a module next to the DAG file, and what
cannot be rebuilt is an import error naming the DAG file and the class."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater import DAG
from headwater.dag_processing.processor import DagFolderProcessor
from headwater.dag_processing.serialized_dag import deserialize_dag, serialize_dag
from headwater.dag_processing.serialized_errors import SerializedDagError
from headwater.scheduler.run_planning import intervals_between
from headwater.store.memory import MemoryStore
from headwater.timetables import (
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    DeltaDataIntervalTimetable,
    EventsTimetable,
    MultipleCronTriggerTimetable,
    NullTimetable,
    OnceTimetable,
    Timetable,
)
from headwater.timetables.schedule_arg import TimetableSchedule
from headwater.timetables.serialization import timetable_from_json, timetable_to_json

START = datetime(2024, 1, 1, tzinfo=UTC)

BUILT_INS: list[Timetable] = [
    CronDataIntervalTimetable("@daily", timezone="Europe/Berlin"),
    CronTriggerTimetable("0 6 * * 1-5", timezone="+05:30", interval=timedelta(hours=2)),
    MultipleCronTriggerTimetable("0 6 * * 1-5", "0 9 * * 0,6", timezone="America/New_York"),
    DeltaDataIntervalTimetable(timedelta(hours=6), anchor=START),
    EventsTimetable([START + timedelta(days=3), START], restrict_to_events=True),
    NullTimetable(),
    OnceTimetable(),
]


@pytest.mark.parametrize("timetable", BUILT_INS, ids=lambda t: type(t).__name__)
def test_every_built_in_timetable_round_trips_with_its_dag(timetable: Timetable) -> None:
    original = DAG("tt", schedule=timetable, start_date=START)
    data = json.loads(json.dumps(serialize_dag(original)))
    stored = data["dag"]["schedule"]["timetable"]
    assert stored["classpath"] == f"{type(timetable).__module__}.{type(timetable).__name__}"
    assert (stored["summary"], stored["description"]) == (timetable.summary, timetable.description)
    rebuilt = deserialize_dag(data)
    assert rebuilt.timetable == timetable
    assert isinstance(rebuilt.schedule, TimetableSchedule)
    assert rebuilt.schedule.description == original.schedule.description == timetable.summary
    if timetable.periodic:
        first, last = START, START + timedelta(days=9)
        assert intervals_between(rebuilt, first, last) == intervals_between(original, first, last)
        assert intervals_between(original, first, last)
    moment = START + timedelta(days=2, hours=7)
    assert rebuilt.timetable.infer_manual_data_interval(
        run_after=moment
    ) == timetable.infer_manual_data_interval(run_after=moment)


def test_a_built_in_schedule_is_stored_as_before() -> None:
    data = serialize_dag(DAG("daily", schedule="@daily", start_date=START))
    assert data["dag"]["schedule"] == "@daily"


def test_an_unknown_classpath_names_the_dag_file_and_the_class() -> None:
    data = serialize_dag(DAG("tt", schedule=OnceTimetable(), start_date=START))
    data["dag"]["schedule"]["timetable"]["classpath"] = "gone_module_xyz.Vanished"
    with pytest.raises(SerializedDagError) as raised:
        deserialize_dag(data)
    message = str(raised.value)
    assert "DAG 'tt' (file " + __file__ + ")" in message
    assert "cannot import timetable class 'gone_module_xyz.Vanished'" in message
    data["dag"]["schedule"]["timetable"]["classpath"] = "headwater.timetables.base.DataInterval"
    with pytest.raises(SerializedDagError, match="is not a Timetable subclass"):
        deserialize_dag(data)


def test_what_serialize_returns_must_be_json() -> None:
    class Odd(Timetable):
        def next_dagrun_info(self, **kwargs: Any) -> None:
            return None

    with pytest.raises(SerializedDagError, match="defined inside a function or class"):
        serialize_dag(DAG("odd", schedule=Odd()))
    with pytest.raises(Exception, match="must return JSON-compatible values"):
        timetable_to_json(_NotJson(), "/dags/x.py")


class _NotJson(NullTimetable):
    def serialize(self) -> dict[str, Any]:
        return {"when": START}


class _Forgetful(NullTimetable):
    def __init__(self, region: str) -> None:
        self.region = region  # not serialized: deserialize() calls cls() without it


def test_a_timetable_that_cannot_be_rebuilt_is_refused_when_stored() -> None:
    with pytest.raises(Exception, match=r"_Forgetful .*deserialize\(\) cannot rebuild it"):
        timetable_to_json(_Forgetful("eu"), "/dags/x.py")


# -- classes from the DAG folder ---------------------------------------------------------------

TIMETABLE_MODULE = """
from headwater.timetables import DagRunInfo, Timetable

class EveryNoon(Timetable):
    def __init__(self, days: int = 1) -> None:
        self.days = days

    @property
    def summary(self) -> str:
        return f"noon every {self.days} days"

    def serialize(self):
        return {"days": self.days}

    @classmethod
    def deserialize(cls, data):
        return cls(data["days"])

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        return None
"""


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """A DAG folder; the modules imported from it and its place on ``sys.path`` are
    forgotten after the test."""
    dags = tmp_path / "dags"
    dags.mkdir()
    path, modules = list(sys.path), set(sys.modules)
    yield dags
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        del sys.modules[name]


def processed(folder: Path, files: dict[str, str]) -> MemoryStore:
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    store = MemoryStore()
    DagFolderProcessor(store, folder).scan()
    return store


def test_a_custom_timetable_is_rebuilt_from_a_module_next_to_the_dag_file(folder: Path) -> None:
    (folder / "team").mkdir()
    dag_file = folder / "team" / "noon_dag.py"
    store = processed(
        folder,
        {
            "team/noon_tt_module.py": TIMETABLE_MODULE,
            "team/noon_dag.py": """
                from headwater import DAG
                from noon_tt_module import EveryNoon

                DAG("noon", schedule=EveryNoon(days=3))
            """,
        },
    )
    assert store.list_import_errors() == []
    row = store.get_dag("noon")
    assert row is not None and row.schedule == "noon every 3 days"
    assert row.serialized is not None
    assert "noon_tt_module" not in sys.modules  # this process never imported it
    rebuilt = deserialize_dag(row.serialized)
    assert type(rebuilt.timetable).__name__ == "EveryNoon"
    assert rebuilt.timetable.days == 3  # type: ignore[attr-defined]
    assert rebuilt.fileloc == str(dag_file)


def test_a_timetable_defined_in_the_dag_file_itself_is_an_import_error(folder: Path) -> None:
    store = processed(
        folder,
        {
            "inline_dag.py": TIMETABLE_MODULE
            + """
from headwater import DAG

DAG("inline", schedule=EveryNoon())
"""
        },
    )
    assert store.get_dag("inline") is None
    (error,) = store.list_import_errors()
    assert error.filename == str(folder / "inline_dag.py")
    assert "timetable class EveryNoon" in error.message
    assert f"is defined in the DAG file {folder / 'inline_dag.py'} itself" in error.message


def test_timetable_json_by_itself() -> None:
    spec = timetable_to_json(CronTriggerTimetable("@hourly", timezone="UTC"), "/dags/a.py")
    assert spec == {
        "classpath": "headwater.timetables.trigger.CronTriggerTimetable",
        "data": {"expression": "@hourly", "timezone": "UTC", "interval": 0.0},
        "summary": "@hourly",
        "description": spec["description"],
    }
    assert timetable_from_json(spec, "/dags/a.py") == CronTriggerTimetable("@hourly", "UTC")
