"""The object-store XCom backend in process (``run_dag``): what goes to a file, what stays in
the database, and what a reader gets back, including when the file is not there."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from xcom_store_files import files_under, the_file

from headwater import DAG, task
from headwater.engine.records import TaskInstanceKey
from headwater.exceptions import XComError
from headwater.settings import load_settings
from headwater.settings_checks import SettingsError
from headwater.store.memory import MemoryStore
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)
RUN = "manual__2024-01-01T00:00:00+00:00"


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"city": ["Lyon", "Oslo", "Quito"], "temp": [12.5, -3.0, 18.25]})


def _two_step_dag(produce: Any, consume: Any) -> DAG:
    with DAG("objects", start_date=START, schedule=None) as dag:
        consume(produce())
    return dag


def _stored_text(store: MemoryStore, task_id: str, key: str = "return_value") -> str:
    text = store.get_xcom(TaskInstanceKey("objects", RUN, task_id), key)
    assert text is not None
    return text


def test_a_dataframe_passes_between_tasks_as_a_parquet_file(objects_root: Path) -> None:
    @task
    def produce() -> Any:
        return _frame()

    @task
    def consume(frame: Any) -> float:
        return float(frame["temp"].sum())

    store = MemoryStore()
    result = run_dag(_two_step_dag(produce, consume), store=store, logical_date=START)

    assert result.state_of("consume") == "success"
    assert result.xcom("consume") == 27.75
    pd.testing.assert_frame_equal(result.xcom("produce"), _frame())
    path = the_file(objects_root / "objects" / RUN / "produce")
    assert files_under(objects_root) == [f"objects/{RUN}/produce/return_value.<token>.parquet"]
    reference = json.loads(_stored_text(store, "produce"))
    assert reference == {
        "__headwater__": "xcom_object",
        "format": "parquet",
        "size": path.stat().st_size,
        "uri": str(path),
        "dag_id": "objects",
        "run_id": RUN,
        "task_id": "produce",
        "map_index": -1,
        "key": "return_value",
    }
    assert path.stat().st_mode & 0o777 == 0o600  # like the database that holds other values
    assert _stored_text(store, "consume") == "27.75"  # small JSON stays in the database


def test_bytes_are_a_raw_file_and_come_back_as_bytes(objects_root: Path) -> None:
    payload = bytes(range(256)) * 3

    @task
    def produce() -> bytes:
        return payload

    @task
    def consume(data: bytes) -> list[Any]:
        return [type(data).__name__, len(data), data[:4].hex()]

    store = MemoryStore()
    result = run_dag(_two_step_dag(produce, consume), store=store, logical_date=START)

    assert result.xcom("consume") == ["bytes", 768, "00010203"]
    path = the_file(objects_root / "objects" / RUN / "produce")
    assert path.name.endswith(".bin")
    assert path.read_bytes() == payload
    assert json.loads(_stored_text(store, "produce"))["format"] == "bytes"


def test_a_json_value_over_the_threshold_goes_to_a_file_and_a_small_one_does_not(
    objects_root: Path,
) -> None:
    big = {"rows": [{"id": i, "name": f"row {i}"} for i in range(200)]}

    @task
    def produce(ti: Any = None) -> Any:  # not dict: one XCom, not one per key
        ti.xcom_push(key="small", value=[1, 2, 3])
        return big

    @task
    def consume(value: dict[str, Any]) -> int:
        return len(value["rows"])

    store = MemoryStore()
    result = run_dag(_two_step_dag(produce, consume), store=store, logical_date=START)

    assert result.xcom("consume") == 200
    assert result.xcom("produce") == big
    path = the_file(objects_root / "objects" / RUN / "produce")
    assert json.loads(path.read_text()) == big
    assert json.loads(_stored_text(store, "produce"))["size"] > 1000
    assert _stored_text(store, "produce", "small") == "[1,2,3]"
    assert files_under(objects_root) == [f"objects/{RUN}/produce/return_value.<token>.json"]


def test_mapped_instances_each_get_their_own_file(objects_root: Path) -> None:
    @task
    def produce(n: int) -> bytes:
        return str(n).encode() * 10

    @task
    def total(values: list[bytes]) -> int:
        return sum(len(v) for v in values)

    with DAG("objects", start_date=START, schedule=None) as dag:
        total(produce.expand(n=[1, 22, 333]))
    result = run_dag(dag, logical_date=START)

    assert result.xcom("total") == 60
    assert result.xcom("produce") == [b"1" * 10, b"22" * 10, b"333" * 10]
    assert files_under(objects_root) == [
        f"objects/{RUN}/produce/{i}/return_value.<token>.bin" for i in range(3)
    ]


def test_an_xcom_key_cannot_lead_out_of_its_folder(objects_root: Path) -> None:
    @task
    def produce(ti: Any = None) -> None:
        ti.xcom_push(key="../../escape", value=b"data")

    with DAG("objects", start_date=START, schedule=None) as dag:
        produce()
    result = run_dag(dag, logical_date=START)

    assert result.xcom("produce", key="../../escape") == b"data"
    assert files_under(objects_root) == [f"objects/{RUN}/produce/..%2F..%2Fescape.<token>.bin"]


def test_a_missing_file_names_the_xcom_and_the_path(objects_root: Path) -> None:
    @task
    def produce() -> bytes:
        return b"gone soon"

    with DAG("objects", start_date=START, schedule=None) as dag:
        produce()
    result = run_dag(dag, logical_date=START)
    path = the_file(objects_root / "objects" / RUN / "produce")
    path.unlink()

    expected = (
        f"XCom 'return_value' of task 'produce' in run '{RUN}' of DAG 'objects': "
        f"its value file {path} is missing"
    )
    with pytest.raises(XComError, match=expected.replace("+", r"\+")):
        result.xcom("produce")


def test_a_task_reading_a_missing_file_fails_with_that_error(objects_root: Path) -> None:
    @task
    def produce() -> bytes:
        return b"x" * 10

    @task
    def remove_it() -> None:
        the_file(objects_root / "objects" / RUN / "produce").unlink()

    @task
    def consume(data: bytes) -> int:
        return len(data)

    with DAG("objects", start_date=START, schedule=None) as dag:
        value = produce()
        remove_it() >> consume(value)
    result = run_dag(dag, logical_date=START)

    assert result.state_of("consume") == "failed"
    assert "its value file" in (result.ti("consume").error or "")
    assert ".bin is missing" in (result.ti("consume").error or "")


def test_a_file_cut_short_is_an_error_not_a_wrong_value(objects_root: Path) -> None:
    @task
    def produce() -> bytes:
        return b"0123456789"

    with DAG("objects", start_date=START, schedule=None) as dag:
        produce()
    result = run_dag(dag, logical_date=START)
    the_file(objects_root / "objects" / RUN / "produce").write_bytes(b"01234")

    with pytest.raises(XComError, match="holds 5 bytes, not the 10 recorded"):
        result.xcom("produce")


def test_the_size_limit_applies_to_what_the_database_holds(
    objects_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER__XCOM__MAX_SIZE_BYTES", "2000")
    monkeypatch.setenv("HEADWATER__XCOM__OBJECT_STORE_THRESHOLD_BYTES", "2000")

    @task
    def produce() -> list[int]:
        return list(range(5000))  # far over both: a file, and a small reference in the database

    with DAG("objects", start_date=START, schedule=None) as dag:
        produce()
    result = run_dag(dag, logical_date=START)

    assert result.state_of("produce") == "success"
    assert result.xcom("produce") == list(range(5000))


def test_a_threshold_over_the_size_limit_is_refused_naming_both(
    objects_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER__XCOM__MAX_SIZE_BYTES", "500")

    @task
    def produce() -> int:
        return 1

    with DAG("objects", start_date=START, schedule=None) as dag:
        produce()
    with pytest.raises(SettingsError, match=r"object_store_threshold_bytes \(1000, env "):
        run_dag(dag, logical_date=START)


def test_without_the_backend_bytes_are_refused_as_before(headwater_home: Path) -> None:
    @task
    def produce() -> bytes:
        return b"raw"

    with DAG("objects", start_date=START, schedule=None) as dag:
        produce()
    result = run_dag(dag, logical_date=START)

    assert result.state_of("produce") == "failed"
    assert "cannot pass a builtins.bytes between tasks" in (result.ti("produce").error or "")
    assert not (headwater_home / "xcom_objects").exists()


def test_a_reference_stays_readable_after_the_backend_is_switched_off(
    objects_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @task
    def produce() -> bytes:
        return b"kept"

    with DAG("objects", start_date=START, schedule=None) as dag:
        produce()
    store = MemoryStore()
    run_dag(dag, logical_date=START, store=store)
    monkeypatch.setenv("HEADWATER__XCOM__BACKEND", "database")

    from headwater.engine.xcoms import XComs

    xcoms = XComs.from_settings(store, load_settings())
    assert xcoms.objects is None
    assert xcoms.pull("objects", RUN, "produce") == b"kept"


def test_a_url_store_without_fsspec_is_a_clear_error(
    objects_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER__XCOM__OBJECT_STORE_PATH", "s3://bucket/xcom")
    monkeypatch.setitem(sys.modules, "fsspec", None)  # as if not installed

    @task
    def produce() -> int:
        return 1

    with DAG("objects", start_date=START, schedule=None) as dag:
        produce()
    with pytest.raises(XComError, match=r"'s3://bucket/xcom' is a URL, which needs fsspec"):
        run_dag(dag, logical_date=START)


def test_an_fsspec_url_holds_the_files(objects_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fsspec = pytest.importorskip("fsspec")
    root = f"memory://headwater-test-{id(objects_root)}"
    monkeypatch.setenv("HEADWATER__XCOM__OBJECT_STORE_PATH", root)

    @task
    def produce() -> Any:
        return _frame()

    @task
    def consume(frame: Any) -> int:
        return len(frame)

    store = MemoryStore()
    result = run_dag(_two_step_dag(produce, consume), store=store, logical_date=START)

    assert result.xcom("consume") == 3
    uri = json.loads(_stored_text(store, "produce"))["uri"]
    assert uri.startswith(f"{root}/objects/{RUN}/produce/return_value.")
    assert uri.endswith(".parquet")
    fs = fsspec.filesystem("memory")
    assert fs.exists(uri)
    assert not objects_root.exists()
    fs.rm(root, recursive=True)


def test_a_relative_path_is_read_from_home(
    objects_root: Path, headwater_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER__XCOM__OBJECT_STORE_PATH", "shared/xcom")

    @task
    def produce() -> bytes:
        return b"here"

    with DAG("objects", start_date=START, schedule=None) as dag:
        produce()
    run_dag(dag, logical_date=START)

    assert files_under(headwater_home / "shared" / "xcom") == [
        f"objects/{RUN}/produce/return_value.<token>.bin"
    ]
    assert not objects_root.exists()
