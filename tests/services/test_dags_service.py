"""DAGs through the services: a folder's DAGs with what the database says, pause, delete."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from headwater.loading.dagbag import DagBag
from headwater.services.context import ServiceContext
from headwater.services.dags import (
    DagDeleted,
    DagPaused,
    FolderDags,
    StoredDagState,
    active_dag_ids,
    count_runs,
    delete_dag,
    is_paused,
    list_folder_dags,
    list_tasks,
    set_paused,
    stored_dag_states,
)
from headwater.services.errors import DagNotInDatabaseError, NotFoundError
from headwater.services.runs import TriggerRunRequest, trigger_run
from headwater.settings import Settings
from stored_dags import write_dags


def test_folder_dags_with_their_database_state(ctx: ServiceContext, folder: Path) -> None:
    write_dags(
        folder,
        "import headwater  # a DAG file\nraise RuntimeError('broken on purpose')\n",
        name="broken.py",
    )
    set_paused(ctx, "flaky", True)
    stored = {
        "flaky": StoredDagState(dag_id="flaky", paused=True, next_run=None),
        "etl": StoredDagState(
            dag_id="etl", paused=False, next_run=datetime(2024, 1, 1, tzinfo=UTC)
        ),
    }
    listing = list_folder_dags(DagBag(folder), stored)
    assert isinstance(listing, FolderDags)
    assert [(d.dag_id, d.tasks, d.paused) for d in listing.dags] == [
        ("etl", 4, False),
        ("flaky", 3, True),
        ("partly", 3, None),  # the database does not say: None, as without a database
    ]
    etl = listing.to_json()["dags"][0]
    assert etl["next_run"] == "2024-01-01T00:00:00+00:00"
    assert etl["schedule"] == "@daily" and etl["file"] == str(folder / "dags.py")
    [error] = listing.import_errors
    assert error.file == str(folder / "broken.py")
    assert error.error == "RuntimeError: broken on purpose"
    assert list_folder_dags(DagBag(folder), None).dags[0].paused is None


def test_a_dag_scheduled_on_assets_lists_its_schedule_as_assets(tmp_path: Path) -> None:
    (tmp_path / "on_assets.py").write_text(
        "from datetime import UTC, datetime\n"
        "from headwater import DAG, Asset, AssetOrTimeSchedule\n"
        "from headwater.operators import EmptyOperator\n"
        "a = Asset('s3://bucket/a')\n"
        "for dag_id, schedule in [('only', [a]), ('both', AssetOrTimeSchedule("
        "timetable='@daily', assets=a)), ('timed', '@hourly')]:\n"
        "    with DAG(dag_id, schedule=schedule, start_date=datetime(2024, 1, 1, tzinfo=UTC)):\n"
        "        EmptyOperator(task_id='t')\n"
    )
    listing = list_folder_dags(DagBag(tmp_path), None)
    assert {d.dag_id: d.schedule for d in listing.dags} == {
        "both": "@daily or assets",  # as the dags row says it (dag_processing)
        "only": "assets",
        "timed": "@hourly",
    }


def test_stored_dag_states_without_a_database_is_none(settings: Settings) -> None:
    assert stored_dag_states(settings) is None
    assert not settings.database_url.endswith(":memory:")
    assert not (settings.home / "headwater.db").exists()  # and none was created


def test_list_tasks_in_dependency_order(folder: Path, ctx: ServiceContext) -> None:
    tasks = list_tasks(DagBag(folder).get_dag("etl"))
    assert [(t.task_id, t.upstream) for t in tasks] == [
        ("extract", []),
        ("double", ["extract"]),
        ("load", ["double"]),
        ("report", ["load"]),
    ]
    assert (tasks[1].operator, tasks[1].retries) == ("@task (mapped)", 2)
    assert tasks[0].to_json()["trigger_rule"] == "all_success"


def test_pause_and_unpause(ctx: ServiceContext) -> None:
    assert set_paused(ctx, "etl", True) == DagPaused(dag_id="etl", paused=True)
    assert is_paused(ctx, "etl")
    assert set_paused(ctx, "etl", False).to_json() == {"dag_id": "etl", "paused": False}
    assert not is_paused(ctx, "etl") and not is_paused(ctx, "nope")
    with pytest.raises(DagNotInDatabaseError, match="no DAG 'nope' in the database"):
        set_paused(ctx, "nope", True)


def test_delete_dag_counts_what_went(ctx: ServiceContext) -> None:
    trigger_run(ctx, "flaky", TriggerRunRequest(run_id="r1"))
    assert count_runs(ctx, "flaky") == 1
    deleted = delete_dag(ctx, "flaky")
    assert isinstance(deleted, DagDeleted)
    assert (deleted.deleted["dag_runs"], deleted.deleted["task_instances"]) == (1, 3)
    assert sorted(active_dag_ids(ctx)) == ["etl", "partly"]
    with pytest.raises(NotFoundError, match="no DAG 'flaky'"):
        count_runs(ctx, "flaky")
    with pytest.raises(NotFoundError, match="no DAG 'flaky'"):
        delete_dag(ctx, "flaky")
