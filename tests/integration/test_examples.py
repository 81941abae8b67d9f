"""The example pipelines in examples/: they load, and each one runs for real and does its job.

The HTTP examples talk to the mock API from examples/_mock_api.py, started on 127.0.0.1 on a
free port; every output goes to a temporary folder passed through the run's conf.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from headwater.exceptions import ParamValidationError
from headwater.loading.dagbag import DagBag
from headwater.testing import FakeClock, assert_dags_load, run_dag

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
INCOMING = EXAMPLES / "data" / "incoming"
DAY = datetime(2024, 1, 31, tzinfo=UTC)
NEXT_DAY = datetime(2024, 2, 1, tzinfo=UTC)
EXPECTED_DAGS = {
    "user_activity_report",
    "news_digest",
    "multi_file_load",
    "incremental_load",
    "daily_report_email",
    "ml_features",  # the worked example of docs/data-aware.md: tests/integration/test_ml_example.py
    "ml_training",
    "alerting",  # notifiers on failure: tests/notifications/test_alerting_example.py
}
ORDER_ROWS = {"berlin": 5, "lyon": 4, "porto": 6}  # rows of the shipped CSV files


def _import_mock_api() -> ModuleType:
    spec = importlib.util.spec_from_file_location("examples_mock_api", EXAMPLES / "_mock_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mock_api = _import_mock_api()


@pytest.fixture(scope="module")
def bag() -> DagBag:
    return assert_dags_load(EXAMPLES)


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    server, url = mock_api.start_server(0)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _local_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never send requests to 127.0.0.1 through a proxy the environment may set."""
    for scheme in ("http", "https", "all"):
        monkeypatch.delenv(f"{scheme}_proxy", raising=False)
        monkeypatch.delenv(f"{scheme.upper()}_PROXY", raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def _headwater_cli() -> str:
    found = Path(sys.executable).parent / "headwater"
    if found.exists():
        return str(found)
    which = shutil.which("headwater")
    assert which, "the headwater command is not installed"
    return which


def _warehouse_rows(db: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(
            "SELECT * FROM orders ORDER BY load_date, store_id, order_id"
        ).fetchall()


# -- loading -----------------------------------------------------------------------------------


def test_every_example_loads(bag: DagBag) -> None:
    assert set(bag.dags) == EXPECTED_DAGS  # the mock API and helpers are not taken for DAGs
    assert not bag.import_errors
    for dag in bag.dags.values():
        assert dag.start_date is not None and dag.start_date.tzinfo is not None
        assert "example" in dag.tags


def test_default_outputs_stay_in_the_git_ignored_folder(bag: DagBag) -> None:
    output = (EXAMPLES / "output").resolve()
    defaults = {
        "user_activity_report": "output_dir",
        "news_digest": "output_dir",
        "multi_file_load": "db_path",
    }
    for dag_id, param in defaults.items():
        default = Path(bag.get_dag(dag_id).params[param].default)
        assert default.is_absolute()
        assert default == output or output in default.parents, (dag_id, default)
    assert "examples/output/" in (REPO / ".gitignore").read_text().splitlines()
    assert Path(bag.get_dag("multi_file_load").params["input_dir"].default) == INCOMING


def test_mock_api_is_deterministic(api_url: str) -> None:
    with urllib.request.urlopen(f"{api_url}/activity?date=2024-01-31", timeout=5) as response:
        body = json.load(response)
    assert body == {"date": "2024-01-31", "events": mock_api.generate_activity("2024-01-31")}
    assert mock_api.generate_activity("2024-01-31") != mock_api.generate_activity("2024-02-01")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{api_url}/activity?date=yesterday", timeout=5)
    info.value.close()
    assert info.value.code == 400


# -- user_activity_report --------------------------------------------------------------------


def test_user_activity_report_writes_the_days_report(
    bag: DagBag, api_url: str, tmp_path: Path
) -> None:
    dag = bag.get_dag("user_activity_report")
    conf = {"api_url": api_url, "output_dir": str(tmp_path), "top_n": 3}

    result = run_dag(dag, logical_date=DAY, conf=conf)

    assert result.succeeded, result.task_states
    assert result.task_states == {
        "fetch_events": "success",
        "summarize_events": "success",
        "write_report": "success",
    }
    events = mock_api.generate_activity("2024-01-31")
    events_file = tmp_path / "user_activity" / "2024-01-31" / "events.csv"
    assert result.xcom("fetch_events") == {
        "events_file": str(events_file),
        "event_count": len(events),
    }
    assert result.xcom("fetch_events", key="event_count") == len(events)
    with events_file.open(newline="") as f:
        assert [row["event_id"] for row in csv.DictReader(f)] == [e["event_id"] for e in events]

    # The .sh file was rendered with the run's ds and params before bash ran it.
    rendered = result.rendered("summarize_events")
    assert 'day="2024-01-31"' in rendered["bash_command"]
    assert 'top_n="3"' in rendered["bash_command"]
    assert "{{" not in rendered["bash_command"]
    assert rendered["env"] == {"EVENTS_FILE": str(events_file)}
    summary_dir = tmp_path / "user_activity" / "2024-01-31" / "summary"
    assert result.xcom("summarize_events") == str(summary_dir)
    assert f"{len(events)} events from" in result.log("summarize_events")

    report_path = tmp_path / "user_activity" / "report_2024-01-31.md"
    assert result.xcom("write_report") == str(report_path)
    report = report_path.read_text()
    by_type = Counter(e["event_type"] for e in events)
    by_user = Counter(e["user_id"] for e in events)
    assert report.startswith("# User activity report for 2024-01-31\n")
    assert f"- Events: {len(events)}\n" in report
    assert f"- Active users: {len(by_user)}\n" in report
    for event_type, count in by_type.items():
        assert f"| {event_type} | {count} |" in report
    top_users = sorted(by_user.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert "## Top 3 users" in report
    user_lines = [line for line in report.splitlines() if line.startswith("| user_")]
    assert user_lines == [f"| {user} | {count} |" for user, count in top_users]


def test_user_activity_report_retries_then_fails_when_the_api_errors(
    bag: DagBag, api_url: str, tmp_path: Path
) -> None:
    dag = bag.get_dag("user_activity_report")
    clock = FakeClock(datetime(2024, 2, 1, 6, 0, tzinfo=UTC))  # retry delays pass at once
    conf = {"api_url": f"{api_url}/no-such-api", "output_dir": str(tmp_path)}

    result = run_dag(dag, logical_date=DAY, conf=conf, clock=clock)

    assert not result.succeeded
    assert result.task_states == {
        "fetch_events": "failed",
        "summarize_events": "upstream_failed",
        "write_report": "upstream_failed",
    }
    assert len(result.attempts("fetch_events")) == 3  # 1 try + retries=2
    assert sum(clock.slept) >= 10  # two 5-second retry delays, without waiting for them
    assert "HTTP Error 404" in result.log("fetch_events")
    assert not (tmp_path / "user_activity" / "report_2024-01-31.md").exists()


@pytest.mark.parametrize(
    ("conf", "param"),
    [
        ({"top_n": 0}, "top_n"),
        ({"top_n": "five"}, "top_n"),
        ({"api_url": "ftp://example.com"}, "api_url"),
    ],
)
def test_user_activity_report_rejects_bad_params(
    bag: DagBag, conf: dict[str, Any], param: str
) -> None:
    with pytest.raises(ParamValidationError, match=f"param '{param}'"):
        run_dag(bag.get_dag("user_activity_report"), logical_date=DAY, conf=conf)


# -- news_digest -----------------------------------------------------------------------------


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_news_digest_writes_ranked_headlines(bag: DagBag, api_url: str, tmp_path: Path) -> None:
    dag = bag.get_dag("news_digest")
    conf = {
        "api_url": api_url,
        "output_dir": str(tmp_path),
        "keywords": ["Python", "sqlite"],
        "max_items": 3,
    }

    result = run_dag(dag, logical_date=DAY, conf=conf)

    assert result.succeeded, result.task_states
    assert set(result.task_states.values()) == {"success"}
    assert result.rendered("fetch_feed")["op_args"] == [f"{api_url}/news.rss"]
    digest_path = tmp_path / "news" / "digest_2024-01-31.csv"
    assert result.rendered("write_digest")["op_kwargs"]["path"] == str(digest_path)
    assert result.xcom("write_digest") == {"path": str(digest_path), "rows": 3}

    rows = _read_csv(digest_path)
    # Three headlines name a keyword in their title (score 2), newest first; the fourth
    # match only mentions Python in its description (score 1) and is cut by max_items.
    assert [(r["rank"], r["score"], r["title"]) for r in rows] == [
        ("1", "2", "New Python release speeds up startup by 20 percent"),
        ("2", "2", "SQLite adds faster JSON functions in latest version"),
        ("3", "2", "Python packaging tools converge on a single lock file format"),
    ]
    assert rows[0]["published"] == "2024-01-31T11:45:00+00:00"
    assert rows[0]["matched"] == "python"
    assert rows[0]["link"] == "http://example.com/news/3"
    assert [h["title"] for h in result.xcom("rank_headlines")] == [r["title"] for r in rows]


def test_news_digest_with_no_keywords_keeps_every_headline(
    bag: DagBag, api_url: str, tmp_path: Path
) -> None:
    conf = {"api_url": api_url, "output_dir": str(tmp_path), "keywords": [], "max_items": 100}

    result = run_dag(bag.get_dag("news_digest"), logical_date=DAY, conf=conf)

    assert result.succeeded
    rows = _read_csv(tmp_path / "news" / "digest_2024-01-31.csv")
    assert len(rows) == len(mock_api.HEADLINES)
    published = [r["published"] for r in rows]
    assert published == sorted(published, reverse=True)


def test_news_digest_skips_the_file_when_nothing_matches(
    bag: DagBag, api_url: str, tmp_path: Path
) -> None:
    conf = {"api_url": api_url, "output_dir": str(tmp_path), "keywords": ["zebra"]}

    result = run_dag(bag.get_dag("news_digest"), logical_date=DAY, conf=conf)

    assert result.succeeded  # nothing to report is not an error
    assert result.xcom("rank_headlines") == []
    assert result.state_of("has_headlines") == "success"
    assert result.state_of("write_digest") == "skipped"
    assert not (tmp_path / "news").exists()


# -- multi_file_load -------------------------------------------------------------------------


def _load_conf(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {"input_dir": str(INCOMING), "db_path": str(tmp_path / "warehouse.db"), **extra}


def test_multi_file_load_validates_each_file_in_its_own_task(bag: DagBag, tmp_path: Path) -> None:
    dag = bag.get_dag("multi_file_load")

    result = run_dag(dag, logical_date=DAY, conf=_load_conf(tmp_path))

    assert result.succeeded, result.task_states
    files = sorted(INCOMING.glob("*.csv"))
    assert len(files) == 3
    assert result.xcom("discover_files") == [str(p) for p in files]
    assert result.task_states == {
        "discover_files": "success",
        **{f"validate_file[{i}]": "success" for i in range(len(files))},
        "load_to_warehouse": "success",
        "report": "success",
    }
    summaries = result.xcom("validate_file")  # a mapped task: every instance's value
    assert [s["path"] for s in summaries] == [str(p) for p in files]
    assert [(s["stores"], s["rows"], s["valid"]) for s in summaries] == [
        (["berlin"], 5, True),
        (["lyon"], 4, True),
        (["porto"], 6, True),
    ]
    assert result.xcom("validate_file", map_index=1)["file"] == "orders_lyon.csv"

    assert result.xcom("load_to_warehouse") == {
        "load_date": "2024-01-31",
        "rows_loaded": 15,
        "rows_replaced": 0,
        "files_loaded": ["orders_berlin.csv", "orders_lyon.csv", "orders_porto.csv"],
        "files_rejected": [],
    }
    report = result.xcom("report")
    assert {store: s["orders"] for store, s in report["stores"].items()} == ORDER_ROWS
    assert report["stores"]["berlin"] == {"orders": 5, "items": 8, "revenue": 71.04}
    assert report["total_orders"] == 15
    assert "berlin" in result.log("report")


def test_multi_file_load_is_idempotent_per_logical_date(bag: DagBag, tmp_path: Path) -> None:
    dag = bag.get_dag("multi_file_load")
    conf = _load_conf(tmp_path)
    db = tmp_path / "warehouse.db"

    first = run_dag(dag, logical_date=DAY, conf=conf)
    rows_after_first = _warehouse_rows(db)
    second = run_dag(dag, logical_date=DAY, conf=conf)
    rows_after_second = _warehouse_rows(db)

    assert first.succeeded and second.succeeded
    assert len(rows_after_first) == 15
    assert rows_after_second == rows_after_first  # same rows, nothing duplicated
    assert second.xcom("load_to_warehouse")["rows_replaced"] == 15
    assert second.xcom("report")["warehouse_rows"] == 15

    # Another day is another partition: its rows are added, the first day's kept as they were.
    third = run_dag(dag, logical_date=NEXT_DAY, conf=conf)
    assert third.succeeded
    rows_after_third = _warehouse_rows(db)
    assert len(rows_after_third) == 30
    assert [r for r in rows_after_third if r[0] == "2024-01-31"] == rows_after_first
    assert third.xcom("report")["warehouse_rows"] == 30
    assert third.xcom("report")["total_orders"] == 15


def _incoming_with_a_bad_file(tmp_path: Path) -> Path:
    folder = tmp_path / "incoming"
    folder.mkdir()
    for name in ("orders_berlin.csv", "orders_lyon.csv"):
        shutil.copy(INCOMING / name, folder / name)
    (folder / "orders_nice.csv").write_text(
        "order_id,store_id,order_date,customer_id,product_sku,quantity,unit_price\n"
        "NCE-1,nice,2024-01-30,C-1,SKU-MUG-WHITE,1,12.50\n"
        "NCE-2,nice,2024-13-01,C-2,SKU-MUG-WHITE,1,12.50\n"
        "NCE-3,nice,2024-01-30,C-3,SKU-MUG-WHITE,two,12.50\n"
    )
    return folder


def test_multi_file_load_fails_on_an_invalid_file_by_default(bag: DagBag, tmp_path: Path) -> None:
    folder = _incoming_with_a_bad_file(tmp_path)
    conf = _load_conf(tmp_path, input_dir=str(folder))

    result = run_dag(bag.get_dag("multi_file_load"), logical_date=DAY, conf=conf)

    assert not result.succeeded
    assert result.state_of("validate_file", 0) == "success"  # orders_berlin.csv
    assert result.state_of("validate_file", 1) == "success"  # orders_lyon.csv
    assert result.state_of("validate_file", 2) == "failed"  # orders_nice.csv
    assert len(result.attempts("validate_file", map_index=2)) == 1  # no retry for bad data
    assert result.state_of("load_to_warehouse") == "upstream_failed"
    log = result.log("validate_file", map_index=2)
    assert "orders_nice.csv is invalid" in log
    assert "line 3: order_date '2024-13-01'" in log
    assert "line 4: quantity 'two' is not an integer" in log
    assert not (tmp_path / "warehouse.db").exists()


def test_multi_file_load_can_leave_invalid_files_out(bag: DagBag, tmp_path: Path) -> None:
    folder = _incoming_with_a_bad_file(tmp_path)
    conf = _load_conf(tmp_path, input_dir=str(folder), on_invalid="skip")

    result = run_dag(bag.get_dag("multi_file_load"), logical_date=DAY, conf=conf)

    assert result.succeeded, result.task_states
    assert [s["valid"] for s in result.xcom("validate_file")] == [True, True, False]
    load = result.xcom("load_to_warehouse")
    assert load["files_rejected"] == ["orders_nice.csv"]
    assert load["rows_loaded"] == 9
    assert {r[1] for r in _warehouse_rows(tmp_path / "warehouse.db")} == {"berlin", "lyon"}


def test_multi_file_load_skips_when_no_file_arrived(bag: DagBag, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()

    result = run_dag(
        bag.get_dag("multi_file_load"),
        logical_date=DAY,
        conf=_load_conf(tmp_path, input_dir=str(empty)),
    )

    assert result.succeeded
    assert set(result.task_states.values()) == {"skipped"}
    assert not (tmp_path / "warehouse.db").exists()


def test_multi_file_load_rejects_an_unknown_on_invalid_mode(bag: DagBag) -> None:
    with pytest.raises(ParamValidationError, match=r"param 'on_invalid'.*'explode'"):
        run_dag(bag.get_dag("multi_file_load"), logical_date=DAY, conf={"on_invalid": "explode"})


# -- the command line ------------------------------------------------------------------------


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}  # wide enough that nothing is wrapped
    return subprocess.run(
        [_headwater_cli(), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_runs_multi_file_load(tmp_path: Path) -> None:
    conf = json.dumps({"db_path": str(tmp_path / "warehouse.db")})
    args = ["--folder", "examples", "--logical-date", "2024-01-31", "--conf", conf]
    proc = _run_cli("dags", "test", "multi_file_load", *args)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "DAG multi_file_load succeeded" in proc.stdout
    for task_id in ("discover_files", "validate_file[2]", "load_to_warehouse", "report"):
        assert task_id in proc.stdout
    assert "The warehouse holds 15 row(s)" in proc.stdout
    assert len(_warehouse_rows(tmp_path / "warehouse.db")) == 15


def test_cli_rejects_a_bad_conf_naming_the_param(tmp_path: Path) -> None:
    conf = json.dumps({"db_path": str(tmp_path / "warehouse.db"), "on_invalid": "explode"})
    proc = _run_cli("dags", "test", "multi_file_load", "--folder", "examples", "--conf", conf)

    assert proc.returncode != 0
    assert "on_invalid" in proc.stderr
    assert "explode" in proc.stderr
    assert not (tmp_path / "warehouse.db").exists()
