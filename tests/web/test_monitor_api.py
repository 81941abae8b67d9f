"""/api/v1/health and /api/v1/version: public; heartbeats judged on the app's (fake) clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from headwater import __version__
from headwater.clock import FakeClock
from headwater.services.context import open_context
from headwater.settings import Settings
from web_fixtures import AppOn


@pytest.fixture
def timed_client(app_on: AppOn, web_settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(app_on(web_settings, clock)) as client:
        yield client


def _start_job(settings: Settings, clock: FakeClock, kind: str, ago_s: float) -> int:
    with open_context(settings, clock=clock) as ctx:
        return ctx.store.start_job(kind, "host-a", 4242, clock.now() - timedelta(seconds=ago_s))


def test_health_is_public_and_healthy_with_fresh_heartbeats(
    timed_client: TestClient, web_settings: Settings, clock: FakeClock
) -> None:
    _start_job(web_settings, clock, "scheduler", 2)
    _start_job(web_settings, clock, "dag_processor", 1)
    response = timed_client.get("/api/v1/health")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "healthy"
    assert health["metadatabase"] == {"status": "healthy", "error": None}
    assert health["scheduler"]["status"] == "healthy"
    assert health["scheduler"]["heartbeat_age_s"] == 2.0
    assert health["scheduler"]["threshold_s"] == web_settings.scheduler.task_heartbeat_timeout_s
    assert (health["scheduler"]["hostname"], health["scheduler"]["pid"]) == ("host-a", 4242)
    assert health["dag_processor"]["heartbeat_age_s"] == 1.0


def test_a_stale_scheduler_heartbeat_is_unhealthy(
    timed_client: TestClient, web_settings: Settings, clock: FakeClock
) -> None:
    _start_job(web_settings, clock, "dag_processor", 0)
    job = _start_job(web_settings, clock, "scheduler", 0)
    assert timed_client.get("/api/v1/health").json()["scheduler"]["status"] == "healthy"

    clock.advance(timedelta(seconds=web_settings.scheduler.task_heartbeat_timeout_s + 1))
    response = timed_client.get("/api/v1/health")
    assert response.status_code == 200  # the API itself works: 503 is for the database
    health = response.json()
    assert health["status"] == "unhealthy"
    assert health["scheduler"]["status"] == "unhealthy"
    assert health["scheduler"]["heartbeat_age_s"] == 31.0
    assert health["metadatabase"]["status"] == "healthy"

    with open_context(web_settings, clock=clock) as ctx:
        ctx.store.heartbeat_job(job, clock.now())
    assert timed_client.get("/api/v1/health").json()["scheduler"]["status"] == "healthy"


def test_an_ended_or_missing_component_is_unhealthy(
    timed_client: TestClient, web_settings: Settings, clock: FakeClock
) -> None:
    job = _start_job(web_settings, clock, "scheduler", 0)
    with open_context(web_settings, clock=clock) as ctx:
        ctx.store.end_job(job, clock.now())
    health = timed_client.get("/api/v1/health").json()
    assert health["scheduler"]["status"] == "unhealthy"
    assert health["dag_processor"] == {
        "status": "unhealthy",
        "latest_heartbeat": None,
        "heartbeat_age_s": None,
        "threshold_s": web_settings.scheduler.task_heartbeat_timeout_s,
        "hostname": None,
        "pid": None,
    }


def test_a_database_that_cannot_be_read_is_503(
    timed_client: TestClient, web_settings: Settings
) -> None:
    path = web_settings.database_url.removeprefix("sqlite:///")
    with open(path, "r+b") as database:
        database.write(b"this is no longer a database" * 200)
    response = timed_client.get("/api/v1/health")
    assert response.status_code == 503
    health = response.json()
    assert health["status"] == "unhealthy"
    assert health["metadatabase"]["status"] == "unhealthy"
    assert "database" in health["metadatabase"]["error"], health
    assert health["scheduler"]["status"] == "unknown"


def test_version_is_public(client: TestClient) -> None:
    version = client.get("/api/v1/version").json()
    assert version["version"] == __version__
    commit = version["git_commit"]
    assert commit is None or (len(commit) == 40 and int(commit, 16) >= 0)


def test_the_triggerer_counts_once_one_has_run(
    timed_client: TestClient, web_settings: Settings, clock: FakeClock
) -> None:
    _start_job(web_settings, clock, "scheduler", 0)
    _start_job(web_settings, clock, "dag_processor", 0)
    health = timed_client.get("/api/v1/health").json()
    assert (health["status"], health["triggerer"]) == ("healthy", None)  # none ever ran

    _start_job(web_settings, clock, "triggerer", 3)
    health = timed_client.get("/api/v1/health").json()
    assert health["status"] == "healthy"
    assert health["triggerer"]["heartbeat_age_s"] == 3.0
    assert health["triggerer"]["threshold_s"] == web_settings.triggerer.lease_s

    clock.advance(timedelta(seconds=web_settings.triggerer.lease_s))  # its lease ran out
    health = timed_client.get("/api/v1/health").json()
    assert (health["status"], health["triggerer"]["status"]) == ("unhealthy", "unhealthy")
