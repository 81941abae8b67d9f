"""The DAG list, import errors and trigger pages as the server renders them (the browser
tests drive them in Chromium): what they show, for whom, escaped."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from headwater.services.context import open_context
from headwater.settings import Settings
from headwater.web.ui.trigger_pages import param_field
from stored_dags import scan_here, write_dags
from web_fixtures import ActAs


def test_the_list_shows_dots_schedule_in_words_and_pause_buttons(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("op")
    html = client.get("/").text
    assert 'href="/dags/etl?run_id=r1"' in html
    assert 'class="dot state-success" title="r1: success' in html
    assert 'class="dot state-failed" title="r1: failed' in html
    assert 'title="@daily">every day at 00:00 UTC' in html
    assert "never (manual only)" in html
    assert 'data-api-action="PATCH /api/v1/dags/etl"' in html
    assert 'data-live-url="/?fragment=list"' in html
    fragment = client.get("/", params={"fragment": "list"}).text
    assert "<table" in fragment and "<html" not in fragment
    assert 'class="dot state-success"' in fragment


def test_a_viewer_gets_no_pause_buttons_and_a_limited_role_only_its_dags(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("viewer")
    html = client.get("/").text
    assert "/dags/etl" in html and "data-api-action" not in html
    act_as("op", tags={"team-z"})
    assert "/dags/etl" not in client.get("/").text


def test_search_and_tags_filter_the_list(client: TestClient, act_as: ActAs) -> None:
    act_as("viewer")
    html = client.get("/", params={"search": "flak"}).text
    assert "/dags/flaky" in html and "/dags/etl" not in html
    assert "No DAGs match these filters" in client.get("/", params={"tags": "nope"}).text


def test_a_stored_script_in_a_description_is_text(
    client: TestClient, act_as: ActAs, web_settings: Settings, dags_folder: Path
) -> None:
    write_dags(
        dags_folder,
        "from datetime import datetime, UTC\nfrom headwater import DAG\n"
        "from headwater.operators import BashOperator\n"
        'with DAG("xss", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None,\n'
        '         description="<script>alert(1)</script>", tags=["<b>bold</b>"]):\n'
        '    BashOperator(task_id="t", bash_command="true")\n',
        "xss.py",
    )
    with open_context(web_settings) as ctx:
        scan_here(ctx.store, dags_folder)
    act_as("viewer")
    html = client.get("/").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html


def test_the_import_errors_banner_and_page(
    client: TestClient, act_as: ActAs, web_settings: Settings, dags_folder: Path
) -> None:
    act_as("viewer")
    assert "failed to import" not in client.get("/").text
    write_dags(dags_folder, "from headwater import DAG\n\n1 / 0\n", "broken.py")
    with open_context(web_settings) as ctx:
        scan_here(ctx.store, dags_folder)
    assert "1 DAG file failed to import" in client.get("/").text
    page = client.get("/import-errors").text
    assert "broken.py" in page and "ZeroDivisionError" in page and "<details>" in page


def test_pages_send_a_browser_without_a_session_to_the_login(client: TestClient) -> None:
    for path in ("/", "/import-errors", "/dags/etl/trigger"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


def test_the_trigger_form_has_a_field_per_param(client: TestClient, act_as: ActAs) -> None:
    act_as("op")
    html = client.get("/dags/etl/trigger").text
    assert 'data-param="region"' in html
    assert '<option value="eu" selected>eu</option>' in html
    assert 'id="trigger-submit"' in html
    act_as("viewer")
    viewer = client.get("/dags/etl/trigger").text
    assert "may read this DAG but not trigger it" in viewer and 'id="trigger-submit"' not in viewer
    act_as("viewer", tags={"team-z"})
    assert client.get("/dags/etl/trigger").status_code == 404


def test_param_fields_follow_the_schema() -> None:
    assert param_field("n", {"type": "integer", "minimum": 1, "default": 3}, False).attributes == {
        "step": "1",
        "min": "1",
    }
    flag = param_field("on", {"type": "boolean", "default": True}, False)
    assert (flag.kind, flag.checked) == ("checkbox", True)
    day = param_field("day", {"type": "string", "format": "date"}, True)
    assert (day.kind, day.required) == ("date", True)
    when = param_field(
        "at",
        {"type": "string", "format": "date-time", "default": "2024-01-02T03:04:05+00:00"},
        False,
    )
    assert (when.kind, when.value) == ("datetime", "2024-01-02T03:04")
    items = param_field("items", {"type": "array", "default": [1, 2]}, False)
    assert (items.kind, items.json_value) == ("json", True)
    assert items.value == "[\n  1,\n  2\n]"
    untyped = param_field("x", {"default": 2.5}, False)
    assert (untyped.kind, untyped.attributes["step"]) == ("number", "any")
    levels = param_field("level", {"enum": [1, 2], "default": 2}, False)
    assert (levels.kind, levels.json_value, levels.value) == ("select", True, "2")
    nullable = param_field("s", {"type": ["null", "string"], "default": None}, False)
    assert (nullable.kind, nullable.value) == ("text", "")
