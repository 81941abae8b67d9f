"""``GET /metrics`` on the API server (the real app, through FastAPI's TestClient): no login,
Prometheus' content type (OpenMetrics when asked), and the database's counts as they are
stored: runs and task instances by state, pools, import errors, notifier failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from scraping import Samples, labelled, parse, value

from db_records import T0, make_run, make_ti
from headwater.dag_processing.processor import DagFolderProcessor
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.services.context import open_context
from headwater.settings import Settings, load_settings
from headwater.web.app import create_app

S = TaskInstanceState


def scrape(client: TestClient) -> Samples:
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == CONTENT_TYPE_PLAIN_0_0_4  # what Prometheus reads
    return parse(answer.text)


@pytest.mark.usefixtures("history")
def test_runs_and_task_instances_by_state_match_the_store(
    client: TestClient, web_settings: Settings
) -> None:
    samples = scrape(client)  # no login: no token, no session cookie
    with open_context(web_settings) as ctx:
        runs = ctx.store.count_runs_by_state()
        tis = ctx.store.count_tis_by_state()
    # etl succeeded; flaky and partly failed (history)
    assert labelled(samples, "headwater_dag_runs", "state") == {
        "queued": 0,
        "running": 0,
        "success": 1,
        "failed": 2,
    }
    assert runs == {"success": 1, "failed": 2}
    by_state = labelled(samples, "headwater_task_instances", "state")
    assert by_state == {state.value: tis.get(state.value, 0) for state in S}
    assert by_state["upstream_failed"] == 2 and by_state["success"] >= 6


def test_pool_slots_are_reported_per_pool(client: TestClient, web_settings: Settings) -> None:
    with open_context(web_settings) as ctx:
        ctx.store.set_pool("small", 5)
        run = make_run(dag_id="pooled", state=DagRunState.RUNNING)
        ctx.store.create_dag_run(
            run,
            [
                make_ti("big", run, state=S.RUNNING, pool="small", pool_slots=2),
                make_ti("next", run, state=S.QUEUED, pool="small"),
                make_ti("waits", run, state=S.SCHEDULED, pool="small"),
                make_ti("elsewhere", run, state=S.RUNNING),
            ],
        )
    samples = scrape(client)
    assert labelled(samples, "headwater_pool_slots", "pool") == {"default_pool": 128, "small": 5}
    assert labelled(samples, "headwater_pool_used_slots", "pool") == {
        "default_pool": 1,
        "small": 2,
    }
    assert labelled(samples, "headwater_pool_queued_slots", "pool") == {
        "default_pool": 0,
        "small": 1,
    }
    assert labelled(samples, "headwater_pool_open_slots", "pool") == {
        "default_pool": 127,
        "small": 2,
    }


def test_import_errors_and_parse_times(
    client: TestClient, web_settings: Settings, dags_folder: Path
) -> None:
    before = scrape(client)
    assert value(before, "headwater_dag_import_errors") == 0
    (dags_folder / "broken.py").write_text(
        "from headwater import DAG\nimport no_such_module_here\n"
    )
    with open_context(web_settings) as ctx:
        report = DagFolderProcessor(ctx.store, dags_folder).scan()
    assert len(report.errors) == 1
    after = scrape(client)
    assert value(after, "headwater_dag_import_errors") == 1
    # This process parsed: its endpoint shows the parse time of the one file the scan
    # imported (the stored DAG file is unchanged, so not imported again).
    count = "headwater_dag_file_parse_duration_seconds_count"
    assert value(after, count) - value(before, count) == 1


def test_notifier_failures_are_counted_per_dag_once_each(
    client: TestClient, web_settings: Settings
) -> None:
    name = "headwater_notification_failures_total"
    with open_context(web_settings) as ctx:
        for dag_id in ("etl", "etl", "flaky"):
            ctx.store.record_event(
                "notification_failed", at=T0, dag_id=dag_id, detail="SlackNotifier: 500"
            )
        ctx.store.record_event("trigger", at=T0, dag_id="etl")
        assert labelled(scrape(client), name, "dag_id") == {"etl": 2, "flaky": 1}
        assert labelled(scrape(client), name, "dag_id") == {"etl": 2, "flaky": 1}
        ctx.store.record_event("notification_failed", at=T0, dag_id="etl", detail="x")
        ctx.store.record_event("notification_failed", at=T0, detail="no DAG")
    assert labelled(scrape(client), name, "dag_id") == {"etl": 3, "flaky": 1, "": 1}


def test_openmetrics_when_the_scraper_asks_for_it(client: TestClient) -> None:
    answer = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.endswith("# EOF\n")


def test_no_endpoint_when_it_is_turned_off(
    web_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER__METRICS__API_ENDPOINT", "false")
    with TestClient(create_app(load_settings())) as client:
        assert client.get("/metrics").status_code == 404
