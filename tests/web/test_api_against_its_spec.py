"""Schemathesis over the REST API's own OpenAPI spec, against a real uvicorn server on
127.0.0.1 holding real history, as an admin (who may call every route): for every operation,
generated requests (valid and not) never get a 5xx, and every answer fits the spec (status
code declared, content type, body schema).

Examples per operation are few (the suite runs in minutes on 2 cores) but derandomized, so
a failure is reproducible; raise ``HEADWATER_FUZZ_EXAMPLES`` to search further.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from headwater.clock import FakeClock
from headwater.services.context import open_context
from headwater.services.tokens import create_token
from headwater.settings import Settings
from headwater.web.server import ServerHandle, serve_in_thread

EXAMPLES = int(os.environ.get("HEADWATER_FUZZ_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def server(
    web_settings: Settings, history: None, accounts: dict[str, str]
) -> Iterator[ServerHandle]:
    handle = serve_in_thread(web_settings, host="127.0.0.1", port=0)
    try:
        yield handle
    finally:
        handle.stop()


def test_no_operation_answers_a_5xx_or_breaks_its_schema(
    server: ServerHandle, web_settings: Settings, clock: FakeClock
) -> None:
    with open_context(web_settings) as ctx:
        token = create_token(ctx, "root", "fuzz").token
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40, "the spec lists fewer operations than the API has"
    failures: dict[str, str] = {}
    for operation in operations:
        if operation.method.upper() == "POST" and operation.path == "/api/v1/auth/logout":
            continue  # it answers alike whatever is sent; nothing to learn

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except Exception as exc:
            failures[f"{operation.method.upper()} {operation.path}"] = str(exc)[:1500]
    assert not failures, "\n\n".join(f"{name}:\n{text}" for name, text in failures.items())
