"""The admin pages as HTML: what each role sees, and secrets that never reach the page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from headwater.services.context import open_context
from headwater.settings import Settings
from headwater.store.base import Connection
from web_fixtures import ActAs

PAGES = ["/admin/variables", "/admin/connections", "/admin/pools", "/admin/events"]


@pytest.fixture
def seeded(client: TestClient, web_settings: Settings) -> TestClient:
    with open_context(web_settings) as ctx:
        ctx.store.set_variable("region", "eu", "where reports go")
        ctx.store.set_variable("db_password", "hunter2-very-secret", None)
        ctx.store.set_variable("xss", "<script>alert(1)</script>", "<b>bold</b>")
        ctx.store.set_connection(
            Connection(
                "warehouse",
                "postgres",
                host="db.example.com",
                login="etl",
                password="s3cret-pw-42",
                extra={"sslmode": "require", "api_token": "tok-123456"},
            )
        )
        ctx.store.set_pool("reports", 4, "the reports database")
        ctx.store.record_event("trigger", at=ctx.now(), dag_id="etl", run_id="r1")
    return client


@pytest.mark.parametrize("url", PAGES)
def test_pages_send_a_browser_without_a_session_to_the_login(seeded: TestClient, url: str) -> None:
    response = seeded.get(url, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={url}"


@pytest.mark.parametrize("level", ["viewer", "op", "admin"])
@pytest.mark.parametrize("url", PAGES)
def test_no_secret_reaches_any_page(
    seeded: TestClient, act_as: ActAs, level: str, url: str
) -> None:
    act_as(level)
    page = seeded.get(url)
    assert page.status_code == 200
    for secret in ("hunter2-very-secret", "s3cret-pw-42", "tok-123456"):
        assert secret not in page.text


def test_the_variables_page_lists_masked_and_escaped_values(
    seeded: TestClient, act_as: ActAs
) -> None:
    act_as("op")
    html = seeded.get("/admin/variables").text
    assert '<td class="mono">db_password</td>' in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html
    assert "<b>bold</b>" not in html
    assert 'data-open-dialog="variable-dialog"' in html
    assert 'data-api-action="DELETE /api/v1/variables/region"' in html


def test_the_variables_page_searches(seeded: TestClient, act_as: ActAs) -> None:
    act_as("viewer")
    html = seeded.get("/admin/variables", params={"search": "reports"}).text
    assert "region" in html and "db_password" not in html
    assert "1\N{EN DASH}1 of 1" in html


@pytest.mark.parametrize("url", PAGES[:3])
def test_a_viewer_sees_no_write_buttons(seeded: TestClient, act_as: ActAs, url: str) -> None:
    act_as("viewer")
    html = seeded.get(url).text
    assert "data-api-action" not in html and "data-open-dialog" not in html
    assert "data-api-form" not in html


@pytest.mark.parametrize("url", PAGES[:3])
def test_a_tag_limited_op_sees_no_write_buttons(
    seeded: TestClient, act_as: ActAs, url: str
) -> None:
    act_as("op", tags={"team-a"})
    assert "data-api-action" not in seeded.get(url).text


def test_the_connections_page_shows_the_types_and_masks(seeded: TestClient, act_as: ActAs) -> None:
    act_as("admin")
    html = seeded.get("/admin/connections").text
    assert "db.example.com" in html and '"api_token": "***"' in html.replace("&#34;", '"')
    assert '<option value="postgres">postgres</option>' in html
    assert 'data-connection-test="warehouse"' in html


def test_the_pools_page_shows_usage_and_keeps_default_pool(
    seeded: TestClient, act_as: ActAs
) -> None:
    act_as("op")
    html = seeded.get("/admin/pools").text
    assert 'aria-label="0 of 4 slots used: 0 running, 0 queued"' in html
    assert 'data-api-action="DELETE /api/v1/pools/reports"' in html
    assert 'data-api-action="DELETE /api/v1/pools/default_pool"' not in html


def test_the_events_page_filters_and_pages(seeded: TestClient, act_as: ActAs) -> None:
    act_as("viewer")
    html = seeded.get("/admin/events").text
    assert '<a class="mono" href="/dags/etl">etl</a>' in html
    assert "1\N{EN DASH}1 of 1" in html
    filtered = seeded.get("/admin/events", params={"kind": "clear"}).text
    assert "No events match these filters." in filtered
    bad = seeded.get("/admin/events", params={"offset": -1}, headers={"Accept": "text/html"})
    assert bad.status_code == 422 and "offset" in bad.text


def test_the_admin_menu_shows_users_to_admins_only(seeded: TestClient, act_as: ActAs) -> None:
    act_as("op")
    assert 'href="/admin/users"' not in seeded.get("/admin/pools").text
    act_as("admin")
    html = seeded.get("/admin/pools").text
    assert 'href="/admin/users"' in html
    assert '<a href="/admin/pools" aria-current="page">Pools</a>' in html
