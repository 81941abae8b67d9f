"""How a DAG's timetable is shown: ``dags list`` shows its summary, the UI its description."""

from __future__ import annotations

from datetime import UTC, datetime

from headwater import DAG
from headwater.dag_processing.serialized_dag import serialize_dag
from headwater.services.schedule_words import stored_schedule_words
from headwater.timetables import CronTriggerTimetable, EventsTimetable


def test_a_timetable_shows_its_description_and_a_schedule_string_its_words() -> None:
    dag = DAG("berlin", schedule=CronTriggerTimetable("0 6 * * 1-5", timezone="Europe/Berlin"))
    stored = serialize_dag(dag)["dag"]["schedule"]
    assert dag.schedule.description == "0 6 * * 1-5"
    assert stored_schedule_words("0 6 * * 1-5", stored) == (
        "At 06:00, Monday through Friday (Europe/Berlin)"
    )
    games = EventsTimetable([datetime(2024, 6, 14, 19, tzinfo=UTC)], description="match days")
    assert stored_schedule_words(
        "match days", serialize_dag(DAG("g", schedule=games))["dag"]["schedule"]
    ) == ("match days")
    assert stored_schedule_words("@daily", "@daily") == "every day at 00:00 UTC"
    assert stored_schedule_words(None, None) == "never (manual only)"
