"""What a lookup returns is masked from then on: a variable whose key looks secret, a
connection's password and secret-looking extra keys, whether read by code, by a hook or by a
template (``var.value.x``, ``conn.x``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater import DAG, task
from headwater.hooks import BaseHook
from headwater.masking import redact_text
from headwater.operators import BashOperator
from headwater.secrets import get_connection, get_variable
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)


def test_a_secret_named_variable_is_masked_and_others_are_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEADWATER_VAR_PARTNER_API_KEY", "k-4242-abcd")
    monkeypatch.setenv("HEADWATER_VAR_REGION", "eu-north-1")
    assert redact_text("key k-4242-abcd") == "key k-4242-abcd"  # nothing read yet
    assert get_variable("partner_api_key") == "k-4242-abcd"
    assert get_variable("region") == "eu-north-1"
    assert redact_text("key k-4242-abcd in eu-north-1") == "key *** in eu-north-1"


def test_a_connections_password_and_secret_extra_are_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "HEADWATER_CONN_API",
        '{"conn_type": "http", "host": "api.example.com", "login": "svc", '
        '"password": "pw-7781", "extra": {"api_token": "tk-5150", "timeout": "30"}}',
    )
    get_connection("api")
    assert redact_text("svc pw-7781 tk-5150 30 api.example.com") == "svc *** *** 30 api.example.com"


def test_lookups_inside_a_run_mask_what_tasks_and_templates_read() -> None:
    """Variables read by a task's code and a template, a connection read by a template's
    ``conn.x`` and by ``BaseHook.get_connection``: each secret is masked after the run."""
    with DAG("masked_reads", start_date=START) as dag:

        @task
        def read() -> str:
            get_variable("service_token")
            return BaseHook.get_connection("hooked").host or ""

        BashOperator(
            task_id="templated",
            bash_command="echo {{ conn.warehouse.host }} {{ var.value.db_password | length }}",
        )
        read()
    secrets = {
        "service_token": "st-1111-secret",
        "db_password": "dbp-2222-secret",
        "plain": "not-secret-3333",
    }
    result = run_dag(
        dag,
        connections={
            "warehouse": "postgresql://ann:whp-4444-secret@wh.local:5432/sales",
            "hooked": "postgresql://bob:hkp-5555-secret@hk.local:5432/x",
        },
        variables=secrets,
    )
    assert result.succeeded, result.task_states
    assert result.xcom("read") == "hk.local"
    assert result.xcom("templated") == "wh.local 15"
    shown = redact_text("st-1111-secret dbp-2222-secret whp-4444-secret hkp-5555-secret")
    assert shown == "*** *** *** ***"
    assert redact_text("not-secret-3333") == "not-secret-3333"  # never read, and not secret
