"""Loading a folder of DAG files: good files load, broken ones are reported with file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from headwater.exceptions import DagNotFoundError
from headwater.testing import assert_dags_load, load_dags

GOOD = """
from datetime import UTC, datetime
from headwater import DAG
from headwater.operators import EmptyOperator

with DAG("{dag_id}", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule="@hourly", tags=["t"]) as dag:
    EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


@pytest.fixture
def dags_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    write(folder, "good.py", GOOD.format(dag_id="good"))
    write(folder, "sub/also_good.py", GOOD.format(dag_id="also_good"))
    write(folder, "syntax.py", "# headwater dag\nfrom headwater import DAG\nx = (\n")
    write(
        folder,
        "raises.py",
        """
        # a headwater DAG file whose import fails
        from headwater import DAG

        def helper():
            return 1 / 0

        helper()
        """,
    )
    write(
        folder,
        "cycle.py",
        """
        from datetime import UTC, datetime
        from headwater import DAG
        from headwater.operators import EmptyOperator

        with DAG("cyclic", start_date=datetime(2024, 1, 1, tzinfo=UTC)) as dag:
            a = EmptyOperator(task_id="a")
            b = EmptyOperator(task_id="b")
            a >> b >> a
        """,
    )
    write(
        folder,
        "naive.py",
        """
        from datetime import datetime
        from headwater import DAG

        dag = DAG("naive", start_date=datetime(2024, 1, 1))
        """,
    )
    write(folder, "zz_dup.py", GOOD.format(dag_id="good"))
    write(folder, "_helpers.py", "raise RuntimeError('headwater dag helper must not be imported')")
    write(folder, "plain.py", "raise RuntimeError('not a pipeline file')")
    return folder


def test_good_files_load_and_broken_ones_are_reported(dags_folder: Path) -> None:
    bag = load_dags(dags_folder)
    assert sorted(bag.dags) == ["also_good", "good"]
    errors = {Path(e.path).name: e for e in bag.import_errors}
    assert sorted(errors) == ["cycle.py", "naive.py", "raises.py", "syntax.py", "zz_dup.py"]
    assert errors["syntax.py"].line == 3
    assert errors["syntax.py"].message.startswith("SyntaxError:")
    assert errors["raises.py"].line == 5
    assert errors["raises.py"].message.startswith("ZeroDivisionError: division by zero")
    assert "DAG 'cyclic' has a cycle: a -> b -> a" in errors["cycle.py"].message
    assert errors["naive.py"].line == 4
    assert "has no timezone" in errors["naive.py"].message
    assert "DAG id 'good' is already defined in" in errors["zz_dup.py"].message
    assert str(errors["syntax.py"]).startswith(f"{dags_folder / 'syntax.py'}:3: SyntaxError")


def test_assert_dags_load_lists_every_failure(dags_folder: Path) -> None:
    with pytest.raises(AssertionError, match=r"5 DAG file\(s\) failed to load") as info:
        assert_dags_load(dags_folder)
    assert "raises.py:5: ZeroDivisionError" in str(info.value)


def test_assert_dags_load_passes_on_a_clean_folder(tmp_path: Path) -> None:
    write(tmp_path, "ok.py", GOOD.format(dag_id="ok"))
    assert list(assert_dags_load(tmp_path).dags) == ["ok"]


def test_unknown_dag_id_names_what_was_found(dags_folder: Path) -> None:
    with pytest.raises(
        DagNotFoundError, match=r"no DAG 'nope' in .* \(found: also_good, good\); 5 file"
    ):
        load_dags(dags_folder).get_dag("nope")


def test_missing_folder_is_an_import_error(tmp_path: Path) -> None:
    bag = load_dags(tmp_path / "absent")
    assert bag.dags == {}
    assert "no such file or folder" in str(bag.import_errors[0])


def test_dag_files_can_import_helpers_next_to_them(tmp_path: Path) -> None:
    write(tmp_path, "_shared.py", "GREETING = 'hi'\n")
    write(
        tmp_path,
        "uses_helper.py",
        """
        from datetime import UTC, datetime
        from headwater import DAG
        from headwater.operators import PythonOperator
        from _shared import GREETING

        with DAG("helper_user", start_date=datetime(2024, 1, 1, tzinfo=UTC)) as dag:
            PythonOperator(task_id="greet", python_callable=lambda: GREETING)
        """,
    )
    from headwater.testing import run_dag

    assert run_dag(assert_dags_load(tmp_path).get_dag("helper_user")).xcom("greet") == "hi"


def test_import_error_line_with_a_relative_folder(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path, "dags/broken.py", "# headwater dag\nraise ValueError('broken')\n")
    monkeypatch.chdir(tmp_path)
    (error,) = load_dags("dags").import_errors
    assert error.path == str(Path("dags/broken.py"))
    assert error.line == 2
    write(tmp_path, "dags/broken.py", "# headwater dag\nx = (\n")
    (syntax,) = load_dags("dags").import_errors
    assert syntax.line == 2


def test_dags_built_during_import_are_found_without_a_module_level_name(tmp_path: Path) -> None:
    write(
        tmp_path,
        "factory.py",
        """
        from headwater import DAG, dag, task
        from headwater.operators import EmptyOperator

        def build(dag_id):
            with DAG(dag_id) as built:
                EmptyOperator(task_id="only")
            return built

        for name in ("made_a", "made_b"):
            build(name)

        @dag
        def decorated():
            @task
            def hello() -> str:
                return "hi"

            hello()

        decorated()
        bound = build("bound")  # also a module-level name: found once
        """,
    )
    bag = assert_dags_load(tmp_path)
    assert sorted(bag.dags) == ["bound", "decorated", "made_a", "made_b"]
    assert bag.dags["made_b"].task_ids == ["only"]
    assert {path.name for path in bag.files.values()} == {"factory.py"}


def test_two_dags_with_one_id_in_one_file_are_an_error(tmp_path: Path) -> None:
    write(
        tmp_path,
        "twice.py",
        """
        from headwater import DAG

        DAG("same")
        DAG("same")
        DAG("other")
        """,
    )
    bag = load_dags(tmp_path)
    assert sorted(bag.dags) == ["other", "same"]
    (error,) = bag.import_errors
    assert "DAG id 'same' is defined twice in this file" in error.message


def test_dags_built_outside_a_dag_file_import_are_not_collected(tmp_path: Path) -> None:
    from headwater import DAG

    DAG("stray")  # built by this test, not by a DAG file
    write(tmp_path, "ok.py", GOOD.format(dag_id="ok"))
    assert list(assert_dags_load(tmp_path).dags) == ["ok"]
