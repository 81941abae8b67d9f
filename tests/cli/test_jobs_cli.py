"""``headwater jobs check`` and ``jobs list`` on SQLite and PostgreSQL: exit codes, messages
and JSON, over job rows as the scheduler and the triggerer write them (``JobStore``)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

from headwater.store.sql import SqlStore
from stored_dags import invoke


def _now() -> datetime:
    return datetime.now(UTC)


def test_check_fails_with_no_live_scheduler_and_passes_with_one(store: SqlStore) -> None:
    result = invoke("jobs", "check", "--job-type", "scheduler")
    assert result.exit_code == 1
    assert "No alive jobs found." in result.stderr
    data = json.loads(invoke("jobs", "check", "--job-type", "scheduler", "-o", "json").stdout)
    assert data["ok"] is False and data["alive"] == [] and data["checked"] == 0

    # A scheduler that ended and one whose heartbeat stopped long ago do not count.
    ended = store.start_job("scheduler", "host-a", 11, _now() - timedelta(minutes=5))
    store.end_job(ended, _now() - timedelta(minutes=4))
    store.start_job("scheduler", "host-a", 12, _now() - timedelta(minutes=10))
    assert invoke("jobs", "check", "--job-type", "scheduler", "--limit", "0").exit_code == 1

    live = store.start_job("scheduler", "host-b", os.getpid(), _now())
    result = invoke("jobs", "check", "--job-type", "scheduler")
    assert result.exit_code == 0 and result.stdout == "Found one alive job.\n"
    result = invoke("jobs", "check", "--job-type", "scheduler", "-o", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["message"] == "Found one alive job."
    [job] = data["alive"]
    assert (job["id"], job["kind"], job["hostname"], job["pid"], job["alive"]) == (
        live,
        "scheduler",
        "host-b",
        os.getpid(),
        True,
    )
    # Another kind, or another host, has none.
    assert invoke("jobs", "check", "--job-type", "triggerer").exit_code == 1
    assert invoke("jobs", "check", "--hostname", "host-a", "--limit", "0").exit_code == 1
    assert invoke("jobs", "check", "--hostname", "host-b").exit_code == 0


def test_several_live_jobs_pass_only_with_allow_multiple(store: SqlStore) -> None:
    store.start_job("scheduler", "host-a", 21, _now())
    store.start_job("scheduler", "host-b", 22, _now())
    # As Airflow: the newest job only by default (--limit 1)...
    assert invoke("jobs", "check", "--job-type", "scheduler").exit_code == 0
    # ...and with more looked at, two live ones fail unless --allow-multiple.
    result = invoke("jobs", "check", "--job-type", "scheduler", "--limit", "2")
    assert result.exit_code == 1
    assert "Found 2 alive jobs. Expected only one." in result.stderr
    args = ("jobs", "check", "--job-type", "scheduler", "--limit", "0", "--allow-multiple")
    result = invoke(*args, "-o", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["message"] == "Found 2 alive jobs."
    assert sorted(job["pid"] for job in data["alive"]) == [21, 22]


def test_list_shows_every_job_with_whether_it_is_alive(store: SqlStore) -> None:
    old = store.start_job("triggerer", "host-a", 31, _now() - timedelta(hours=1))
    live = store.start_job("scheduler", "host-b", 32, _now())
    data = json.loads(invoke("jobs", "list", "-o", "json").stdout)
    assert [(job["id"], job["kind"], job["alive"]) for job in data] == [
        (live, "scheduler", True),
        (old, "triggerer", False),
    ]
    alive = json.loads(invoke("jobs", "list", "--alive", "-o", "json").stdout)
    assert [job["id"] for job in alive] == [live]
    shown = invoke("jobs", "list", "--job-type", "triggerer").stdout
    assert "host-a" in shown and "False" in shown and "host-b" not in shown


def test_an_unknown_job_type_is_a_usage_error(store: SqlStore) -> None:
    result = invoke("jobs", "check", "--job-type", "webserver")
    assert result.exit_code == 2
    assert "--job-type" in result.stderr


def test_jobs_commands_explain_themselves() -> None:
    for args in (["jobs"], ["jobs", "check"], ["jobs", "list"]):
        result = invoke(*args, "--help")
        assert result.exit_code == 0 and "Usage: headwater jobs" in result.stdout
    assert "--allow-multiple" in invoke("jobs", "check", "--help").stdout
    assert "jobs" in invoke("--help").stdout
