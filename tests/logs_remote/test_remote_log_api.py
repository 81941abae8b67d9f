"""The REST API's log endpoint (and the UI's log view) on an API server whose logs folder lacks the file of an attempt
that runs on another machine (another logs folder): it answers the parts shipped to
``[logging] remote_log_folder`` so far, never the worker's own file, and the complete copy
once the attempt has ended. The worker's side ships with explicit flushes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from headwater.runtime.log_shipping import LogShipper
from headwater.runtime.remote_logs import remote_log_folder
from headwater.settings import Settings
from running_attempts import start_attempt
from web_fixtures import ActAs

LOG = "/api/v1/dags/flaky/runs/live/tasks/start/logs/1"


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The API server's settings (loaded after this): its own logs folder, and a remote
    folder reached as a ``file://`` URL through fsspec."""
    monkeypatch.setenv("HEADWATER__LOGGING__LOGS_FOLDER", str(tmp_path / "api-logs"))
    monkeypatch.setenv("HEADWATER__LOGGING__REMOTE_LOG_FOLDER", (tmp_path / "remote").as_uri())
    return tmp_path / "remote"


def _read(client: TestClient, offset: int = 0) -> Any:
    response = client.get(LOG, params={"offset": offset})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_log_endpoint_and_page_answer_the_remote_copy_of_another_machines_attempt(
    remote: Path, client: TestClient, act_as: ActAs, web_settings: Settings, tmp_path: Path
) -> None:
    act_as("viewer")
    worker = replace(
        web_settings, logging=replace(web_settings.logging, logs_folder=str(tmp_path / "w"))
    )
    live = start_attempt(worker, "flaky", "live", "start")  # its row names the worker's file
    sink = remote_log_folder(worker)
    assert sink is not None
    shipper = LogShipper(sink, 1.0, background=False)
    shipper.follow(str(live.log))

    instance = client.get("/api/v1/dags/flaky/runs/live/tasks/start").json()
    assert [t["log_available"] for t in instance["tries"]] == [True]  # maybe remote: ask

    live.write("first line\n")
    shipper.flush()
    live.write("second line, not shipped yet\n")  # in the worker's file only
    one = _read(client)
    assert (one["content"], one["complete"]) == ("first line\n", False)

    shipper.flush()
    two = _read(client, one["next_offset"])
    assert (two["content"], two["complete"]) == ("second line, not shipped yet\n", False)
    assert not (web_settings.logs_folder / "dag_id=flaky").exists()  # nothing local
    page = client.get("/dags/flaky/runs/live/tasks/start").text  # the UI's log view
    assert "first line" in page and "second line, not shipped yet" in page
    assert f'data-log-offset="{two["next_offset"]}"' in page  # it follows on from there

    live.write("last words")
    assert shipper.finish(str(live.log))
    sink.copy(live.log)  # the end of the attempt, as capture_attempt_log does it
    sink.remove_live(sink.relative(live.log))
    live.end()
    three = _read(client, two["next_offset"])
    assert (three["content"], three["complete"]) == ("last words", True)
    whole = _read(client)
    assert whole["content"] == live.log.read_text()
    assert whole["complete"]
