"""The file and console transports, the errors of transports that cannot be built, dataset
names from asset URIs, run ids that every process derives alike (the client's own function),
schema URLs equal to the installed client's, and a process that sends over http without
importing the client package (a third of a second of CPU per process)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lineage_receiver import LineageReceiver, schema_errors, with_lineage

from headwater import DAG, Asset
from headwater.lineage import LineageUnavailableError
from headwater.lineage.emitter import close_emitters
from headwater.lineage.events import SCHEMA_URLS
from headwater.lineage.naming import asset_dataset
from headwater.lineage.run_ids import dag_run_uuid, task_attempt_uuid
from headwater.lineage.transports import build_transport
from headwater.operators import PythonOperator
from headwater.settings import Settings
from headwater.settings_operations import LineageSettings
from headwater.testing import run_dag

START = datetime(2024, 3, 1, tzinfo=UTC)


def _one_task() -> DAG:
    with DAG("report", start_date=START) as dag:
        PythonOperator(
            task_id="build", python_callable=lambda: 1, outlets=[Asset("s3://reports/daily.csv")]
        )
    return dag


def test_the_file_transport_appends_one_json_line_per_event(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "lineage" / "events.jsonl"
    path.parent.mkdir()
    sending = with_lineage(settings, transport="file", file_path=str(path))
    run_dag(_one_task(), logical_date=START, settings=sending)
    run_dag(_one_task(), logical_date=datetime(2024, 3, 2, tzinfo=UTC), settings=sending)
    close_emitters(timeout_s=5)

    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["job"]["name"], e["eventType"]) for e in events[:4]] == [
        ("report", "START"),
        ("report.build", "START"),
        ("report.build", "COMPLETE"),
        ("report", "COMPLETE"),
    ]
    assert len(events) == 8  # two runs, appended to one file
    assert all(schema_errors(e) == [] for e in events)
    outputs = [(d["namespace"], d["name"]) for d in events[2]["outputs"]]
    assert outputs == [("s3://reports", "daily.csv")]


def test_the_console_transport_logs_each_event(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openlineage.client.transport.console")
    run_dag(_one_task(), logical_date=START, settings=with_lineage(settings, transport="console"))
    close_emitters(timeout_s=5)
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("console")]
    assert [e["eventType"] for e in logged] == ["START", "START", "COMPLETE", "COMPLETE"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"transport": "http"}, r"\[lineage\] transport is 'http', which needs \[lineage\] url"),
        ({"transport": "http", "url": "marquez:5000"}, r"\[lineage\] url must start with http"),
        ({"transport": "file"}, r"needs \[lineage\] file_path"),
        ({"transport": "kafka", "kafka_topic": "ol"}, r"needs \[lineage\] kafka_bootstrap_servers"),
    ],
)
def test_a_transport_missing_a_setting_names_it(values: dict[str, str], message: str) -> None:
    with pytest.raises(LineageUnavailableError, match=message):
        build_transport(LineageSettings(**values))  # type: ignore[arg-type]


def test_kafka_without_its_library_is_a_clear_error() -> None:
    pytest.importorskip("openlineage")
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("confluent-kafka is installed here")
    settings = LineageSettings(
        transport="kafka", kafka_topic="lineage", kafka_bootstrap_servers="127.0.0.1:9092"
    )
    with pytest.raises(LineageUnavailableError, match="pip install confluent-kafka"):
        build_transport(settings)


def test_without_the_client_package_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # The package made unimportable, as in an installation without the extra.
    monkeypatch.setitem(sys.modules, "openlineage.client.transport.console", None)
    with pytest.raises(LineageUnavailableError, match=r"pip install 'headwater\[openlineage\]'"):
        build_transport(LineageSettings(transport="console"))
    # A run goes on without lineage, and says why once.
    result = run_dag(
        _one_task(), logical_date=START, settings=with_lineage(settings, transport="console")
    )
    assert result.run.state.value == "success"
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        "OpenLineage is off in this process: [lineage] transport is 'console', which needs the "
        "openlineage-python package (import of openlineage.client.transport.console halted; "
        "None in sys.modules): pip install 'headwater[openlineage]'"
    ]


@pytest.mark.parametrize(
    ("uri", "namespace", "name"),
    [
        ("s3://bucket/path/to/key.csv", "s3://bucket", "path/to/key.csv"),
        ("gs://bucket/key", "gs://bucket", "key"),
        ("gcs://bucket/key", "gs://bucket", "key"),
        ("file:///data/orders.csv", "file", "/data/orders.csv"),
        ("file://host/data/orders.csv", "file://host", "/data/orders.csv"),
        ("postgres://db:5433/shop/public/orders", "postgres://db:5433", "shop.public.orders"),
        ("postgresql://db/shop.public.orders", "postgres://db:5432", "shop.public.orders"),
        ("mysql://db/shop/orders", "mysql://db:3306", "shop.orders"),
        ("bigquery://project/dataset/table", "bigquery", "project.dataset.table"),
        ("kafka://broker:9092/orders", "kafka://broker:9092", "orders"),
        ("orders", "headwater", "orders"),
    ],
)
def test_asset_uris_become_openlineage_dataset_names(uri: str, namespace: str, name: str) -> None:
    assert asset_dataset(uri, "headwater") == (namespace, name)


def test_run_ids_are_the_same_in_every_process_and_differ_by_try() -> None:
    pytest.importorskip("openlineage")
    here = task_attempt_uuid("ns", "etl", "manual__1", "load", -1, 2, START)
    code = (
        "from datetime import UTC, datetime;"
        "from headwater.lineage.run_ids import task_attempt_uuid;"
        "print(task_attempt_uuid('ns', 'etl', 'manual__1', 'load', -1, 2,"
        " datetime(2024, 3, 1, tzinfo=UTC)))"
    )
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert here == there
    others = {
        task_attempt_uuid("ns", "etl", "manual__1", "load", -1, 3, START),
        task_attempt_uuid("ns", "etl", "manual__1", "load", 0, 2, START),
        task_attempt_uuid("ns", "etl", "manual__2", "load", -1, 2, START),
        dag_run_uuid("ns", "etl", "manual__1", START),
    }
    assert here not in others
    assert len(others) == 4


def test_the_schema_urls_are_the_installed_clients() -> None:
    # A client that moved a facet to a new version fails this: check the shape built in
    # headwater.lineage.events against the new facet, then move its URL.
    pytest.importorskip("openlineage.client")
    from openlineage.client.event_v2 import RunEvent
    from openlineage.client.facet_v2 import (
        documentation_job,
        error_message_run,
        job_type_job,
        nominal_time_run,
        parent_run,
        source_code_location_job,
        sql_job,
    )

    classes: dict[str, Any] = {
        "event": RunEvent,
        "nominalTime": nominal_time_run.NominalTimeRunFacet,
        "parent": parent_run.ParentRunFacet,
        "errorMessage": error_message_run.ErrorMessageRunFacet,
        "jobType": job_type_job.JobTypeJobFacet,
        "documentation": documentation_job.DocumentationJobFacet,
        "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet,
        "sql": sql_job.SQLJobFacet,
    }
    assert {name: cls._get_schema() for name, cls in classes.items()} == SCHEMA_URLS


def test_sending_over_http_never_imports_the_client_and_ids_are_the_clients(
    receiver: LineageReceiver, tmp_path: Path
) -> None:
    pytest.importorskip("openlineage.client")
    code = """
import sys
from datetime import UTC, datetime
from headwater import DAG
from headwater.lineage.emitter import close_emitters
from headwater.lineage.run_ids import dag_run_uuid
from headwater.operators import PythonOperator
from headwater.settings import load_settings
from headwater.testing import run_dag

start = datetime(2024, 3, 1, tzinfo=UTC)
with DAG("report", start_date=start) as dag:
    PythonOperator(task_id="build", python_callable=lambda: 1)
run_dag(dag, logical_date=start, settings=load_settings())
close_emitters(5)
print(sorted(name for name in sys.modules if name.startswith("openlineage")))
print(dag_run_uuid("ns", "etl", "manual__1", start))
"""
    env = {
        **os.environ,
        "HEADWATER_HOME": str(tmp_path),
        "HEADWATER__LINEAGE__TRANSPORT": "http",
        "HEADWATER__LINEAGE__URL": receiver.url,
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    imported, run_uuid = done.stdout.splitlines()
    assert imported == "[]"
    assert [(e["job"]["name"], e["eventType"]) for e in receiver.events] == [
        ("report", "START"),
        ("report.build", "START"),
        ("report.build", "COMPLETE"),
        ("report", "COMPLETE"),
    ]
    assert receiver.invalid == []
    from openlineage.client.uuid import generate_static_uuid

    assert run_uuid == str(generate_static_uuid(instant=START, data=b"ns.etl.manual__1"))


def test_an_edited_settings_file_is_followed_within_the_check_interval(
    headwater_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headwater.lineage import process_settings

    now = [1000.0]
    monkeypatch.setattr(process_settings, "_monotonic", lambda: now[0])
    headwater_home.mkdir(parents=True, exist_ok=True)
    config = headwater_home / "headwater.toml"
    config.write_text('[lineage]\ntransport = "console"\n')
    assert process_settings.current_lineage_settings().transport == "console"

    config.write_text('[lineage]\ntransport = "file"\nfile_path = "/tmp/x.jsonl"\n')
    now[0] += process_settings.FILE_CHECK_S / 2  # not looked at again yet
    assert process_settings.current_lineage_settings().transport == "console"
    now[0] += process_settings.FILE_CHECK_S
    assert process_settings.current_lineage_settings().transport == "file"
    # A variable is followed at once.
    monkeypatch.setenv("HEADWATER__LINEAGE__TRANSPORT", "none")
    assert process_settings.current_lineage_settings().transport == "none"


def test_variables_set_changed_and_removed_are_followed_at_once(
    headwater_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headwater.lineage import process_settings

    assert process_settings.current_lineage_settings().transport == "none"
    monkeypatch.setenv("HEADWATER__LINEAGE__TRANSPORT", "console")
    assert process_settings.current_lineage_settings().transport == "console"
    monkeypatch.setenv("HEADWATER__LINEAGE__NAMESPACE", "warehouse")
    assert process_settings.current_lineage_settings().namespace == "warehouse"
    monkeypatch.delenv("HEADWATER__LINEAGE__TRANSPORT")
    assert process_settings.current_lineage_settings().transport == "none"
    # Another home: its settings file is read at once, not after the file check interval.
    other = tmp_path / "other-home"
    other.mkdir()
    (other / "headwater.toml").write_text('[lineage]\ntransport = "console"\n')
    monkeypatch.setenv("HEADWATER_HOME", str(other))
    assert process_settings.current_lineage_settings().transport == "console"
