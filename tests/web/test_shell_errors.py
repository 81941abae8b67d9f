"""The UI's shell: pages answer HTML errors in the app's layout, the API keeps JSON."""

from __future__ import annotations

from fastapi.testclient import TestClient

from web_fixtures import ActAs

HTML = {"Accept": "text/html,application/xhtml+xml"}


def test_an_unknown_page_answers_an_html_404_in_the_layout(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("viewer", username="vera")
    response = client.get("/no-such-page", headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in response.text
    assert 'href="#main">Skip to content' in response.text


def test_an_api_route_answers_json_even_to_a_browser(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing", headers=HTML)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found", "errors": []}


def test_a_client_that_does_not_ask_for_html_gets_json(client: TestClient) -> None:
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json()["detail"] == "Not Found"


def test_the_error_page_escapes_what_the_url_holds(client: TestClient, act_as: ActAs) -> None:
    act_as("viewer")
    response = client.get("/<script>alert(1)</script>", headers=HTML)
    assert response.status_code == 404
    assert "<script>alert(1)" not in response.text
