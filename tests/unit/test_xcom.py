"""Values passed between tasks: JSON with typed round trips, clear errors, size limit, pluggable."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import uuid
from datetime import UTC, datetime

import pydantic
import pytest

from headwater import DAG, task
from headwater.exceptions import XComError
from headwater.settings import load_settings
from headwater.testing import run_dag
from headwater.xcom_serializers import JsonSerializer, load_serializer

START = datetime(2024, 1, 1, tzinfo=UTC)


@dataclasses.dataclass
class Point:
    x: int
    when: dt.date


class Order(pydantic.BaseModel):
    id: int
    amount: decimal.Decimal


VALUES = [
    None,
    True,
    3,
    2.5,
    "text",
    [1, "a", None],
    {"nested": {"list": [1, 2]}},
    datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    dt.date(2024, 1, 2),
    dt.time(12, 30),
    dt.timedelta(minutes=90),
    decimal.Decimal("12.340"),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    (1, 2),
    {1, 2},
    Point(1, dt.date(2024, 5, 6)),
    Order(id=7, amount=decimal.Decimal("9.99")),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_round_trip(value) -> None:
    serializer = JsonSerializer()
    back = serializer.loads(serializer.dumps(value))
    assert back == value
    assert type(back) is type(value)


def test_values_round_trip_between_tasks() -> None:
    with DAG("typed", start_date=START) as dag:

        @task
        def produce() -> dict:
            return {
                "point": Point(1, dt.date(2024, 5, 6)),
                "order": Order(id=1, amount=decimal.Decimal("1.50")),
            }

        @task
        def consume(data: dict) -> str:
            assert isinstance(data["point"], Point)
            assert isinstance(data["order"], Order)
            return f"{data['point'].when.isoformat()} {data['order'].amount}"

        consume(produce())
    assert run_dag(dag).xcom("consume") == "2024-05-06 1.50"


def test_unserializable_value_fails_the_task_with_a_clear_error() -> None:
    with DAG("bad_value", start_date=START) as dag:

        @task
        def produce():
            return object()

        produce()
    result = run_dag(dag)
    assert result.state_of("produce") == "failed"
    assert "XComError: cannot pass a builtins.object between tasks" in (
        result.ti("produce").error or ""
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [({1: "a"}, "dict keys must be strings"), (float("nan"), "cannot pass nan")],
)
def test_serializer_errors(value, message: str) -> None:
    with pytest.raises(XComError, match=message):
        JsonSerializer().dumps(value)


def test_size_limit_is_configurable(monkeypatch) -> None:
    monkeypatch.setenv("HEADWATER__XCOM__MAX_SIZE_BYTES", "100")
    with DAG("big", start_date=START) as dag:

        @task
        def big() -> str:
            return "x" * 200

        @task
        def small() -> str:
            return "x"

        big()
        small()
    result = run_dag(dag, settings=load_settings())
    assert result.state_of("small") == "success"
    assert "XCom 'return_value' is 202 bytes, over the limit of 100 bytes" in (
        result.ti("big").error or ""
    )


class UpperSerializer:
    """A custom serializer: stores text upper-cased."""

    def dumps(self, value) -> str:
        return str(value).upper()

    def loads(self, text: str):
        return text


def test_pluggable_serializer(monkeypatch) -> None:
    monkeypatch.setenv("HEADWATER__XCOM__SERIALIZER", f"{__name__}:UpperSerializer")
    with DAG("custom", start_date=START) as dag:

        @task
        def produce() -> str:
            return "quiet"

        produce()
    assert run_dag(dag, settings=load_settings()).xcom("produce") == "QUIET"
    with pytest.raises(XComError, match="cannot import xcom serializer 'nope:Missing'"):
        load_serializer("nope:Missing")


def test_multiple_outputs_push_each_key() -> None:
    with DAG("multi", start_date=START) as dag:

        @task
        def split() -> dict[str, int]:
            return {"rows": 10, "errors": 2}

        @task
        def report(rows: int, errors: int) -> str:
            return f"{rows}/{errors}"

        @task(multiple_outputs=False)
        def whole() -> dict[str, int]:
            return {"a": 1}

        out = split()
        report(out["rows"], out["errors"])
        whole()
    result = run_dag(dag)
    assert result.xcom("report") == "10/2"
    assert result.xcom("split", key="rows") == 10
    assert result.xcom("whole", key="a") is None


def test_xcom_push_and_pull_through_ti() -> None:
    with DAG("ti_xcom", start_date=START) as dag:

        @task
        def push(ti) -> None:
            ti.xcom_push("extra", [1, 2])

        @task
        def pull(ti) -> list:
            return ti.xcom_pull(task_ids="push", key="extra")

        push() >> pull()
    assert run_dag(dag).xcom("pull") == [1, 2]
