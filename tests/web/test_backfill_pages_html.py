"""The backfill pages as HTML, for each role: what is shown, what is offered, what is hidden."""

from __future__ import annotations

from fastapi.testclient import TestClient

from web_fixtures import ActAs

BODY = {"dag_id": "etl", "start": "2024-01-01T00:00:00+00:00", "end": "2024-01-02T00:00:00+00:00"}


def test_the_form_page_shows_the_dag_its_limit_and_params(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("op")
    html = client.get("/dags/etl/backfill").text
    assert 'data-dag-id="etl"' in html
    assert "max_active_runs (3)" in html
    assert '<td class="mono">region</td><td class="mono">"eu"</td>' in html
    assert 'src="/static/backfill.js"' in html
    assert "needs the op level" not in html


def test_a_viewer_gets_the_form_without_its_buttons_working(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("op")
    client.post("/api/v1/backfills", json=BODY)
    act_as("viewer")
    form = client.get("/dags/etl/backfill").text
    assert "needs the op level" in form
    assert "data-backfill-preview disabled" in form
    listed = client.get("/backfills").text
    assert "data-backfill-id=" in listed
    assert "/cancel" not in listed  # no cancel button for a viewer


def test_the_list_offers_cancel_while_running_and_stops_live_updates_after(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("op")
    backfill_id = client.post("/api/v1/backfills", json=BODY).json()["backfill_id"]
    running = client.get("/backfills", params={"fragment": "table"}).text
    assert f'data-api-action="POST /api/v1/backfills/{backfill_id}/cancel"' in running
    assert "data-confirm=" in running and "2 queued run(s) will not start" in running
    assert "data-live-done" not in running
    assert "<html" not in running  # a fragment, not a page

    client.post(f"/api/v1/backfills/{backfill_id}/cancel")
    cancelled = client.get("/backfills", params={"fragment": "table"}).text
    assert "data-live-done" in cancelled
    assert 'data-state="cancelled"' in cancelled
    assert "/cancel" not in cancelled
    page = client.get("/backfills").text
    assert 'data-live-url="/backfills?fragment=table&amp;offset=0"' in page


def test_a_tag_limited_role_sees_neither_form_nor_backfills_outside_its_tags(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("op")
    client.post("/api/v1/backfills", json=BODY)
    act_as("op", tags={"team-a"})
    assert client.get("/dags/etl/backfill").status_code == 404
    assert client.get("/backfills", params={"dag_id": "etl"}).status_code == 404
    assert "No backfills yet" in client.get("/backfills").text


def test_without_a_session_the_pages_send_to_the_login(client: TestClient) -> None:
    for path in ("/dags/etl/backfill", "/backfills"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
