"""Asset events in Airflow-style tasks, run unmodified: ``yield Metadata(...)``,
``inlet_events`` by asset, alias, index, ``for_asset``/``for_asset_alias`` and in a
template, an alias with no events, and ``@asset`` functions taking ``self``, ``context``
and an upstream asset."""

from __future__ import annotations

import re

from tests.airflow_style.conftest import AirflowDagTest


def _task_log(stdout: str, task_id: str) -> str:
    """The log lines ``dags test`` printed under ``task_id``."""
    match = re.search(rf"success {re.escape(task_id)} \(try[^\n]*\n((?:    │[^\n]*\n)*)", stdout)
    assert match, f"no log of {task_id!r} in:\n{stdout}"
    return match.group(1)


def test_yielded_metadata_and_inlet_events(airflow_dags_test: AirflowDagTest) -> None:
    done = airflow_dags_test("assets_events.py", "assets_events")
    assert done.returncode == 0, done.stdout + done.stderr
    written = _task_log(done.stdout, "write_orders")
    assert "Ignoring a yielded str: a task yields only Metadata" in written
    read = _task_log(done.stdout, "read_events")
    assert "by asset: [{'rows': 3, 'source': 'pos'}]" in read
    assert "by index: 1" in read
    assert "by alias: [('s3://shop/2024-01-01.csv', {'day': 1})]" in read
    assert "for_asset: 3" in read
    assert "for_asset_alias: 1" in read
    assert "unknown alias: []" in read
    assert 'last={"rows": 3, "source": "pos"}' in _task_log(done.stdout, "templated")


def test_an_alias_with_no_events_yet_is_an_empty_list(airflow_dags_test: AirflowDagTest) -> None:
    done = airflow_dags_test("assets_events.py", "assets_events_consumer")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "alias events: []" in _task_log(done.stdout, "consume")


def test_asset_function_takes_self_context_and_upstream(airflow_dags_test: AirflowDagTest) -> None:
    done = airflow_dags_test("assets_events.py", "report")
    assert done.returncode == 0, done.stdout + done.stderr
    log = _task_log(done.stdout, "report")
    assert "self=s3://shop/report.csv upstream=s3://shop/prices.csv" in log
    assert "inlet events of prices: []" in log
