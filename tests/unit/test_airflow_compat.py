"""headwater.airflow_compat: Airflow's Variable/Connection, conf, timezone helpers and the
Airflow 2 stand-ins, called directly (the DAG-file runs are in tests/airflow_style)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from headwater import Asset, AssetOrTimeSchedule
from headwater.airflow_compat import helpers
from headwater.airflow_compat.configuration import AIRFLOW_KEYS, AirflowConfigError, conf
from headwater.airflow_compat.helpers import AirflowDeprecationWarning
from headwater.airflow_compat.legacy import (
    DatasetOrTimeSchedule,
    DummyOperator,
    MySqlOperator,
    PostgresOperator,
    SimpleHttpOperator,
    SubDagOperator,
    days_ago,
)
from headwater.airflow_compat.models import Connection, Variable, VariableKeyError
from headwater.exceptions import DagDefinitionError, HeadwaterError
from headwater.operators import EmptyOperator, HttpOperator, SQLExecuteQueryOperator
from headwater.secrets import ConnectionNotFoundError, MappingBackend, use_backends


@pytest.fixture(autouse=True)
def _home(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path))
    monkeypatch.delenv("HEADWATER_DAGS_FOLDER", raising=False)


def test_conf_answers_mapped_keys_typed_and_names_unmapped_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEADWATER__SCHEDULER__PARALLELISM", "7")
    assert conf.get("core", "parallelism") == "7"
    assert conf.getint("CORE", "parallelism") == 7
    assert conf.getfloat("scheduler", "dag_dir_list_interval") > 0
    assert conf.getboolean("core", "load_examples") is False
    assert conf.get("core", "default_timezone") == "UTC"
    assert conf.has_option("webserver", "base_url")
    assert not conf.has_option("kubernetes_executor", "namespace")
    assert conf.get("kubernetes_executor", "namespace", fallback=None) is None
    with pytest.raises(AirflowConfigError, match=r"\[kubernetes_executor\] namespace has no"):
        conf.get("kubernetes_executor", "namespace")
    with pytest.raises(AirflowConfigError, match="not an integer"):
        conf.getint("core", "dags_folder")


@pytest.mark.parametrize(("section", "key"), sorted(AIRFLOW_KEYS))
def test_every_mapped_conf_key_reads_a_real_setting(section: str, key: str) -> None:
    assert isinstance(conf.get(section, key), str)


def test_variable_get_default_json_and_missing() -> None:
    backend = MappingBackend(variables={"plain": "x", "doc": '{"a": [1]}'})
    with use_backends(first=[backend]):
        assert Variable.get("plain") == "x"
        assert Variable.get("doc", deserialize_json=True) == {"a": [1]}
        assert Variable.get("absent", default_var=None) is None
        with pytest.raises(KeyError) as caught:
            Variable.get("absent")
    assert isinstance(caught.value, VariableKeyError)
    assert str(caught.value).startswith("variable 'absent' is not set")


def test_variable_set_outside_a_task_says_where_it_works() -> None:
    with pytest.raises(HeadwaterError, match="works inside a running task"):
        Variable.set("k", "v")
    with pytest.raises(HeadwaterError, match="give serialize_json=True"):
        Variable.set("k", {"a": 1})


def test_connection_from_secrets() -> None:
    backend = MappingBackend(connections={"api": "http://h:81"})
    with use_backends(first=[backend]):
        found = Connection.get_connection_from_secrets("api")
    assert (found.host, found.port) == ("h", 81)
    with pytest.raises(ConnectionNotFoundError, match="'nope'"):
        Connection.get_connection_from_secrets("nope")


def test_timezone_helpers_read_naive_as_utc() -> None:
    assert helpers.datetime(2024, 1, 2) == datetime(2024, 1, 2, tzinfo=UTC)
    assert helpers.parse("2024-01-02T03:00") == datetime(2024, 1, 2, 3, tzinfo=UTC)
    plus_one = timezone(timedelta(hours=1))
    assert helpers.parse("2024-01-02T03:00+01:00").tzinfo == plus_one
    assert helpers.make_aware(datetime(2024, 1, 1)).tzinfo is UTC
    with pytest.raises(ValueError, match="naive"):
        helpers.make_aware(datetime(2024, 1, 1, tzinfo=UTC))
    assert helpers.make_naive(datetime(2024, 1, 1, 1, tzinfo=plus_one)) == datetime(2024, 1, 1)
    assert helpers.utcnow().tzinfo is UTC
    assert helpers.is_naive(datetime(2024, 1, 1)) and helpers.is_localized(helpers.utcnow())
    assert helpers.convert_to_utc(None) is None
    assert helpers.is_venv_installed() is True
    with pytest.raises(ValueError, match="cannot parse 'soon'"):
        helpers.parse("soon")


def test_legacy_stand_ins_warn_and_are_headwaters_operators() -> None:
    with pytest.warns(AirflowDeprecationWarning, match="use EmptyOperator"):
        assert isinstance(DummyOperator(task_id="d"), EmptyOperator)
    with pytest.warns(AirflowDeprecationWarning, match="use HttpOperator"):
        assert isinstance(SimpleHttpOperator(task_id="h", endpoint="/x"), HttpOperator)
    with pytest.warns(AirflowDeprecationWarning, match="give a fixed start_date"):
        start = days_ago(1, hour=6)
    assert (start.hour, start.minute, start.tzinfo) == (6, 0, UTC)
    assert timedelta(0) < datetime.now(UTC) - start <= timedelta(days=2)
    with pytest.warns(AirflowDeprecationWarning, match="instead of postgres_conn_id="):
        pg = PostgresOperator(task_id="p", sql="SELECT 1", postgres_conn_id="wh", database="db")
    assert isinstance(pg, SQLExecuteQueryOperator)
    assert (pg.conn_id, pg.hook_params) == ("wh", {"schema": "db"})
    with pytest.warns(AirflowDeprecationWarning):
        assert MySqlOperator(task_id="m", sql="SELECT 1").conn_id == "mysql_default"


def test_subdag_operator_is_refused() -> None:
    with pytest.raises(DagDefinitionError, match="task 'sub': SubDagOperator is not supported"):
        SubDagOperator(task_id="sub")


def test_asset_by_name_alone_uses_it_as_uri() -> None:
    named = Asset(name="orders")
    assert (named.uri, named.name) == ("orders", "orders")
    with pytest.raises(DagDefinitionError, match="needs a uri or a name"):
        Asset()


def test_dataset_or_time_schedule_takes_airflow_2s_keyword() -> None:
    from headwater.timetables import CronTriggerTimetable

    both = DatasetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 1 * * 3", timezone="UTC"),
        datasets=Asset("s3://a/1") & Asset("s3://a/2"),
    )
    assert isinstance(both, AssetOrTimeSchedule)
    assert both.assets.evaluate({"s3://a/1", "s3://a/2"})
    assert not both.assets.evaluate({"s3://a/1"})
