"""The DAG list, the import errors and the trigger form in real Chromium, against a real
uvicorn server on a migrated SQLite database (etl, flaky, partly, each run once).

Screenshots: ``dag_list``, ``trigger_form``, ``import_errors``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from headwater.services.context import open_context
from headwater.settings import Settings
from stored_dags import scan_here, write_dags
from web_fixtures import ActAs

PARAMS_DAG = """
from datetime import UTC, datetime
from headwater import DAG, Param
from headwater.operators import BashOperator

with DAG("params_demo", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule="0 8 * * *",
         tags=["team-a"], description="Every kind of param", dag_display_name="Params demo",
         params={
             "region": Param("eu", enum=["eu", "us"], description="Where to load"),
             "days": Param(3, type="integer", minimum=1, maximum=30, description="How far back"),
             "full": Param(False, type="boolean", description="Reload everything"),
             "day": Param("2024-01-31", type="string", format="date"),
             "ids": Param([1, 2], type="array", items={"type": "integer"},
                          description="Customer ids"),
             "owner": Param(type="string", minLength=2, description="Who asked"),
         }):
    BashOperator(task_id="load", bash_command="echo load")
"""


@pytest.fixture
def params_dag(web_settings: Settings, dags_folder: Path) -> None:
    write_dags(dags_folder, PARAMS_DAG, name="params_demo.py")
    with open_context(web_settings) as ctx:
        report = scan_here(ctx.store, dags_folder)
    assert not report.errors, report


def _param(page: Any, name: str) -> Any:
    """The input of param ``name`` (its label is the param's name, with a mark if required)."""
    field = page.locator(f'[data-param="{name}"]')
    label = page.locator(f'label[for="{field.get_attribute("id")}"]')
    assert label.inner_text().startswith(name)
    return field


def _runs(live_url: str, page: Any, dag_id: str) -> list[dict[str, Any]]:
    response = page.request.get(f"{live_url}/api/v1/dags/{dag_id}/runs")
    assert response.status == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_the_dag_list_shows_dags_dots_and_schedules(
    page: Any,
    live_url: str,
    act_as: ActAs,
    history: None,
    params_dag: None,
    screenshot: Callable[[Any, str], Path],
) -> None:
    act_as("op")
    page.goto(f"{live_url}/")
    rows = page.locator("tr.dag-row")
    assert rows.count() == 4
    etl = page.locator('tr[data-dag-id="etl"]')
    assert etl.locator(".dag-schedule").inner_text() == "every day at 00:00 UTC"
    assert etl.locator(".dag-schedule").get_attribute("title") == "@daily"
    dot = etl.locator(".run-dot .dot")
    assert dot.get_attribute("class") == "dot state-success"
    assert dot.get_attribute("title").startswith("r1: success")
    assert etl.locator(".run-dot").get_attribute("href") == "/dags/etl?run_id=r1"
    flaky = page.locator('tr[data-dag-id="flaky"] .run-dot .dot')
    assert flaky.get_attribute("class") == "dot state-failed"
    partly = page.locator('tr[data-dag-id="partly"]')
    assert partly.locator(".dag-schedule").inner_text() == "never (manual only)"
    demo = page.locator('tr[data-dag-id="params_demo"]')
    assert demo.locator(".dag-schedule").inner_text() == "every day at 08:00 UTC"
    assert "no runs yet" in demo.inner_text()
    assert demo.locator("a.dag-link").inner_text() == "Params demo"  # its display name
    assert demo.locator(".dag-id").inner_text() == "params_demo"
    assert etl.locator(".dag-id").count() == 0
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, "the list scrolls sideways at 1280 px"
    screenshot(page, "dag_list")


def test_search_and_tag_filters(page: Any, live_url: str, act_as: ActAs, params_dag: None) -> None:
    act_as("viewer")
    page.goto(f"{live_url}/")
    page.get_by_label("Search").fill("flak")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/?search=flak*")
    assert [r.get_attribute("data-dag-id") for r in page.locator("tr.dag-row").all()] == ["flaky"]
    page.goto(f"{live_url}/")
    page.locator('tr[data-dag-id="params_demo"] a.tag', has_text="team-a").click()
    page.wait_for_url("**/?tags=team-a")
    assert [r.get_attribute("data-dag-id") for r in page.locator("tr.dag-row").all()] == [
        "params_demo"
    ]
    page.get_by_role("link", name="Stop filtering by tag team-a").click()
    page.wait_for_url(f"{live_url}/")
    assert page.locator("tr.dag-row").count() == 4


def test_the_pause_toggle_pauses_and_unpauses(page: Any, live_url: str, act_as: ActAs) -> None:
    act_as("op")
    page.goto(f"{live_url}/")
    toggle = page.locator('tr[data-dag-id="flaky"] .dag-pause-toggle')
    assert toggle.inner_text() == "Pause"
    toggle.click()
    dialog = page.locator("dialog[open]")
    if dialog.count():  # the shared script may ask first
        dialog.get_by_role("button", name="OK").click()
    # the page reloads after the call; the reloaded button is pressed
    page.locator('tr[data-dag-id="flaky"] .dag-pause-toggle[aria-pressed="true"]').wait_for()
    api = page.request.get(f"{live_url}/api/v1/dags/flaky").json()
    assert api["paused"] is True
    assert page.locator('tr[data-dag-id="flaky"] .dag-paused-label').count() == 1
    page.locator('tr[data-dag-id="flaky"] .dag-pause-toggle').click()
    # has_text matches substrings ("Pause" is in "Unpause"): wait on the state instead
    page.locator('tr[data-dag-id="flaky"] .dag-pause-toggle[aria-pressed="false"]').wait_for()
    assert page.locator('tr[data-dag-id="flaky"] .dag-pause-toggle').inner_text() == "Pause"
    assert page.request.get(f"{live_url}/api/v1/dags/flaky").json()["paused"] is False


def test_the_trigger_form_of_etl_submits_and_the_run_appears(
    page: Any, live_url: str, act_as: ActAs
) -> None:
    act_as("op")
    page.goto(f"{live_url}/dags/etl/trigger")
    region = _param(page, "region")
    assert region.evaluate("e => e.tagName") == "SELECT"
    assert region.input_value() == "eu"
    region.select_option("us")
    page.get_by_role("button", name="Trigger").click()
    page.wait_for_url("**/dags/etl?run_id=manual__*")
    [run] = _runs(live_url, page, "etl")
    assert run["conf"] == {"region": "us"} and run["state"] == "queued"
    assert page.url.endswith(f"?run_id={run['run_id'].replace(':', '%3A').replace('+', '%2B')}")
    page.goto(f"{live_url}/")
    dot = page.locator('tr[data-dag-id="etl"] .run-dot .dot')
    assert dot.get_attribute("class") == "dot state-queued"


def test_bad_values_are_refused_in_the_browser_and_by_the_server(
    page: Any,
    live_url: str,
    act_as: ActAs,
    params_dag: None,
    screenshot: Callable[[Any, str], Path],
) -> None:
    act_as("op")
    page.goto(f"{live_url}/dags/params_demo/trigger")
    assert _param(page, "days").get_attribute("type") == "number"
    assert _param(page, "full").get_attribute("type") == "checkbox"
    assert _param(page, "day").get_attribute("type") == "date"
    assert _param(page, "ids").evaluate("e => e.tagName") == "TEXTAREA"
    assert _param(page, "owner").get_attribute("required") is not None
    assert "Customer ids" in page.locator('[data-field="conf.ids"] .help').inner_text()
    screenshot(page, "trigger_form")
    # the browser refuses: a required field left empty, a number below its minimum, bad JSON
    _param(page, "days").fill("0")
    page.get_by_role("button", name="Trigger").click()
    assert _param(page, "owner").evaluate("e => e.validationMessage") != ""
    _param(page, "owner").fill("ana")
    page.get_by_role("button", name="Trigger").click()
    assert _param(page, "days").evaluate("e => e.validationMessage") != ""
    _param(page, "days").fill("5")
    _param(page, "ids").fill("[1, 2")
    page.get_by_role("button", name="Trigger").click()
    assert "JSON" in _param(page, "ids").evaluate("e => e.validationMessage")
    assert _runs(live_url, page, "params_demo") == []
    # the server refuses what the browser cannot check: the items of an array
    _param(page, "ids").fill('["seven"]')
    page.get_by_role("button", name="Trigger").click()
    error = page.locator('[data-field="conf.ids"] .field-error')
    error.wait_for(state="visible")
    assert "'seven' is not of type 'integer'" in error.inner_text()
    assert _param(page, "ids").get_attribute("aria-invalid") == "true"
    assert _runs(live_url, page, "params_demo") == []
    _param(page, "ids").fill("[7]")
    _param(page, "full").check()
    page.get_by_role("button", name="Trigger").click()
    page.wait_for_url("**/dags/params_demo?run_id=*")
    [run] = _runs(live_url, page, "params_demo")
    assert run["conf"] == {
        "region": "eu",
        "days": 5,
        "full": True,
        "day": "2024-01-31",
        "ids": [7],
        "owner": "ana",
    }


def test_a_taken_run_id_is_shown_under_its_field(
    page: Any, live_url: str, act_as: ActAs, history: None
) -> None:
    act_as("op")
    page.goto(f"{live_url}/dags/etl/trigger")
    page.get_by_text("Run id and logical date").click()
    page.get_by_label("Run id").fill("r1")
    page.get_by_role("button", name="Trigger").click()
    error = page.locator('[data-field="run_id"] .field-error')
    error.wait_for(state="visible")
    assert "run_id 'r1' is taken" in error.inner_text()


def test_the_import_errors_banner_opens_the_failing_files(
    page: Any,
    live_url: str,
    act_as: ActAs,
    web_settings: Settings,
    dags_folder: Path,
    screenshot: Callable[[Any, str], Path],
) -> None:
    write_dags(
        dags_folder,
        "from headwater import DAG\n\n\ndef load():\n    return {}['missing']\n\n\nload()\n",
        "broken_load.py",
    )
    with open_context(web_settings) as ctx:
        scan_here(ctx.store, dags_folder)
    act_as("viewer")
    page.goto(f"{live_url}/")
    banner = page.locator(".banner-error")
    assert banner.inner_text().strip() == "1 DAG file failed to import"
    banner.get_by_role("link").click()
    page.wait_for_url("**/import-errors")
    row = page.locator("tr.import-error")
    assert "broken_load.py" in row.inner_text()
    assert "KeyError: 'missing'" in row.locator(".import-error-message").inner_text()
    traceback = row.locator(".import-error-traceback")
    assert not traceback.is_visible()
    row.locator("summary").click()
    assert traceback.is_visible() and "line 5" in traceback.inner_text()
    screenshot(page, "import_errors")


def test_conf_is_sent_as_json_types(page: Any, live_url: str, act_as: ActAs) -> None:
    """A sanity check of what the form sends: the etl run's conf is a JSON object."""
    act_as("op")
    page.goto(f"{live_url}/dags/etl/trigger")
    page.get_by_role("button", name="Trigger").click()
    page.wait_for_url("**/dags/etl?run_id=*")
    [run] = _runs(live_url, page, "etl")
    assert json.dumps(run["conf"]) == '{"region": "eu"}'


def test_the_dots_follow_new_runs_live(page: Any, live_url: str, act_as: ActAs) -> None:
    act_as("op")
    page.goto(f"{live_url}/")
    partly = page.locator('tr[data-dag-id="partly"]')
    assert "no runs yet" in partly.inner_text()
    made = page.request.post(f"{live_url}/api/v1/dags/partly/runs", data={"run_id": "live1"})
    assert made.status == 201
    # no reload: the list's fragment is fetched again every few seconds
    partly.locator(".run-dot .dot.state-queued").wait_for(timeout=20_000)
    assert partly.locator(".run-dot").get_attribute("href") == "/dags/partly?run_id=live1"
