"""The public surface: what users import, and nothing more by accident."""

from __future__ import annotations

import subprocess
import sys

import headwater
import headwater.operators
import headwater.testing


def test_all_lists_exactly_the_public_names() -> None:
    # In a fresh interpreter: other tests import submodules into the package namespace.
    code = "import headwater; print(' '.join(n for n in vars(headwater) if not n.startswith('_')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    subpackages = {"authoring", "engine", "exceptions", "masking", "operators", "timetables"}
    assert set(done.stdout.split()) - subpackages == set(headwater.__all__) - {"__version__"}
    assert len(headwater.__all__) == len(set(headwater.__all__))


def test_issue_names_are_importable() -> None:
    for name in [
        "DAG",
        "dag",
        "task",
        "task_group",
        "TaskGroup",
        "Param",
        "chain",
        "cross_downstream",
        "get_current_context",
        "HeadwaterError",
    ]:
        assert name in headwater.__all__
    for name in [
        "PythonOperator",
        "BashOperator",
        "BranchPythonOperator",
        "ShortCircuitOperator",
        "EmptyOperator",
    ]:
        assert name in headwater.operators.__all__
    for name in ["run_dag", "run_task", "assert_dags_load", "FakeClock"]:
        assert name in headwater.testing.__all__


def test_every_error_is_a_headwater_error() -> None:
    import inspect

    import headwater.exceptions as exceptions

    classes = [
        c
        for _, c in inspect.getmembers(exceptions, inspect.isclass)
        if c.__module__ == exceptions.__name__
    ]
    assert len(classes) > 10
    # TaskTimeoutError and TaskDeferred are BaseExceptions, so that a task's `except Exception`
    # cannot swallow them.
    outside = (exceptions.TaskTimeoutError, exceptions.TaskDeferred)
    others = [c for c in classes if c not in outside]
    assert all(issubclass(c, headwater.HeadwaterError) for c in others)
    assert not issubclass(exceptions.TaskTimeoutError, Exception)


def test_importing_headwater_does_not_load_heavy_dependencies() -> None:
    code = (
        "import sys, headwater, headwater.operators;"
        "heavy = [m for m in ('jinja2', 'jsonschema', 'rich', 'croniter') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_package_is_typed() -> None:
    from importlib.resources import files

    assert files("headwater").joinpath("py.typed").is_file()
