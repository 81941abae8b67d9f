"""GET /api/v1/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/logs/{try_number}: a try's log
read from a byte offset, masked, so a client follows a running attempt."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
from fastapi.testclient import TestClient

from headwater.masking import forget_secrets, mask_secret
from headwater.secrets.connection import Connection
from headwater.services.context import open_context
from headwater.settings import Settings
from running_attempts import RunningAttempt, start_attempt
from web_fixtures import ActAs

LOGS = "/api/v1/dags/{dag}/runs/{run}/tasks/{task}/logs/{try_number}"


@pytest.fixture(autouse=True)
def no_secrets_left() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


@pytest.fixture
def live(web_settings: Settings) -> RunningAttempt:
    return start_attempt(web_settings, "flaky", "live", "start")


def read(client: TestClient, dag: str, run: str, task: str, try_number: int, **query: Any) -> Any:
    response = client.get(
        LOGS.format(dag=dag, run=run, task=task, try_number=try_number), params=query
    )
    assert response.status_code == 200, response.text
    return response.json()


def read_all(client: TestClient, path: tuple[str, str, str, int], max_bytes: int) -> list[Any]:
    """Every chunk from offset 0 until the one that completes the log."""
    chunks = [read(client, *path, offset=0, max_bytes=max_bytes)]
    while not chunks[-1]["complete"]:
        assert chunks[-1]["next_offset"] > chunks[-1]["offset"]
        chunks.append(read(client, *path, offset=chunks[-1]["next_offset"], max_bytes=max_bytes))
        assert len(chunks) < 10_000
    return chunks


def test_a_finished_try_is_read_whole_and_complete(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("viewer")
    first = read(client, "flaky", "r1", "boom", 1)
    assert "Starting attempt 1 of 2" in first["content"]
    assert "exit code 3" in first["content"]
    assert first["offset"] == 0
    assert first["next_offset"] == len(first["content"].encode())
    assert first["complete"] is True
    assert first["tries"] == [1, 2]
    second = read(client, "flaky", "r1", "boom", 2)
    assert "Starting attempt 2 of 2" in second["content"]
    again = read(client, "flaky", "r1", "boom", 1, offset=first["next_offset"])
    assert (again["content"], again["complete"]) == ("", True)


def test_read_in_parts_the_log_is_the_same_as_read_whole(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("viewer")
    whole = read(client, "flaky", "r1", "boom", 1)
    chunks = read_all(client, ("flaky", "r1", "boom", 1), max_bytes=64)
    assert len(chunks) > 3
    assert "".join(c["content"] for c in chunks) == whole["content"]
    for before, after in pairwise(chunks):
        assert after["offset"] == before["next_offset"]
        assert before["complete"] is False
        # whole lines while lines fit: a secret is never split between two reads
        assert before["content"].endswith("\n") or len(before["content"].encode()) > 60
    assert chunks[-1]["complete"] is True


def test_a_multibyte_character_is_never_cut_at_a_chunk_boundary(
    client: TestClient, act_as: ActAs, live: RunningAttempt
) -> None:
    act_as("viewer")
    text = "naïve café " + "€" * 7 + " 🌊 end\n"
    live.write(text)
    live.end()
    chunks = read_all(client, ("flaky", "live", "start", 1), max_bytes=5)
    assert len(chunks) > 5
    for chunk in chunks:
        assert "\ufffd" not in chunk["content"]
    assert "".join(c["content"] for c in chunks) == text
    assert chunks[-1]["complete"] is True


def test_a_running_attempt_is_followed_from_next_offset_until_it_ends(
    client: TestClient, act_as: ActAs, live: RunningAttempt
) -> None:
    act_as("viewer")
    path = ("flaky", "live", "start", 1)
    live.write("first line\n")
    one = read(client, *path)
    assert (one["content"], one["complete"]) == ("first line\n", False)
    live.write("second line\nhalf a li")
    two = read(client, *path, offset=one["next_offset"])
    # the line still being written waits for its newline (or for the end)
    assert (two["content"], two["complete"]) == ("second line\n", False)
    three = read(client, *path, offset=two["next_offset"])
    assert (three["content"], three["next_offset"], three["complete"]) == (
        "",
        two["next_offset"],
        False,
    )
    live.write("ne\nlast words")
    live.end()
    four = read(client, *path, offset=three["next_offset"])
    assert (four["content"], four["complete"]) == ("half a line\nlast words", True)


def test_a_read_that_stops_short_of_the_end_is_not_complete(
    client: TestClient, act_as: ActAs, live: RunningAttempt
) -> None:
    act_as("viewer")
    live.write("a\n" * 20)
    live.end()
    part = read(client, "flaky", "live", "start", 1, max_bytes=10)
    assert (part["content"], part["complete"]) == ("a\n" * 5, False)


def test_secrets_in_a_log_are_shown_as_stars(
    client: TestClient, act_as: ActAs, web_settings: Settings, live: RunningAttempt
) -> None:
    act_as("viewer")
    with open_context(web_settings) as ctx:
        ctx.store.set_connection(
            Connection(conn_id="warehouse", conn_type="postgres", password="pa55-w0rd-xyz")
        )
    mask_secret("registered-s3cret")
    live.write("token registered-s3cret in use\nconnecting with pa55-w0rd-xyz\n")
    live.end()
    content = read(client, "flaky", "live", "start", 1)["content"]
    assert content == "token *** in use\nconnecting with ***\n"


def test_a_try_that_is_not_there_names_the_tries_there_are(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("viewer")
    response = client.get(LOGS.format(dag="flaky", run="r1", task="boom", try_number=3))
    assert response.status_code == 404
    assert "tries: 1, 2" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        (("flaky", "r1", "boom", 1), {"offset": -1}, "query.offset"),
        (("flaky", "r1", "boom", 0), {}, "path.try_number"),
        (("flaky", "r1", "boom", 1), {"map_index": -2}, "query.map_index"),
        (("flaky", "r1", "boom", 1), {"max_bytes": 2}, "query.max_bytes"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    client: TestClient,
    act_as: ActAs,
    history: None,
    path: tuple[str, str, str, int],
    query: dict[str, int],
    field: str,
) -> None:
    act_as("viewer")
    dag, run, task, try_number = path
    response = client.get(
        LOGS.format(dag=dag, run=run, task=task, try_number=try_number), params=query
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_an_offset_past_the_end_is_refused_naming_the_offset(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("viewer")
    response = client.get(
        LOGS.format(dag="flaky", run="r1", task="boom", try_number=1), params={"offset": 10**6}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("offset: 1000000 is past the end")


@pytest.mark.parametrize(
    ("task", "query", "names"),
    [
        ("nope", {}, "no task 'nope'"),
        ("boom", {"map_index": 4}, "no map index 4"),
    ],
)
def test_an_unknown_task_or_map_index_is_404_naming_it(
    client: TestClient, act_as: ActAs, history: None, task: str, query: dict[str, int], names: str
) -> None:
    act_as("viewer")
    response = client.get(LOGS.format(dag="flaky", run="r1", task=task, try_number=1), params=query)
    assert response.status_code == 404
    assert names in response.json()["detail"]


def test_logs_need_a_login_and_a_dag_the_role_sees(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    path = LOGS.format(dag="flaky", run="r1", task="boom", try_number=1)
    assert client.get(path).status_code == 401
    act_as("admin", tags={"team-a"})
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["detail"] == "no DAG 'flaky'"
