"""``scheduler.executor`` names an executor of the registry: the built-in ones, one registered
in this process, or one an installed package declares in the entry-point group
``headwater.executors``; anything else stops the scheduler with one clear error."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from headwater.celery_executor.executor import CeleryExecutor
from headwater.clock import FakeClock
from headwater.engine.records import AttemptKey, AttemptOutcome
from headwater.executors.base import Executor
from headwater.executors.in_process import InProcessExecutor
from headwater.executors.local import LocalExecutor
from headwater.scheduler import executor_registry
from headwater.scheduler.executor_registry import (
    ENTRY_POINT_GROUP,
    available_executors,
    register_executor,
    unregister_executor,
)
from headwater.scheduler.scheduler import Scheduler
from headwater.scheduler.service import build_scheduler
from headwater.settings import Settings, load_settings
from headwater.settings_checks import SettingsError
from headwater.store.memory import MemoryStore


class PluginExecutor(Executor):
    """What a package's executor looks like to the registry: built for one scheduler."""

    def __init__(self, settings: Settings, scheduler: Scheduler) -> None:
        self.settings = settings
        self.scheduler = scheduler

    def queue(self, key: AttemptKey) -> None:
        pass

    def poll(self, timeout: float) -> list[tuple[AttemptKey, AttemptOutcome]]:
        return []

    def kill(self, key: AttemptKey) -> None:
        pass

    @property
    def has_work(self) -> bool:
        return False


def plugin_factory(settings: Settings) -> Callable[[Scheduler], Executor]:
    """The entry point's target: ``factory(settings)`` -> ``build(scheduler)``."""
    return lambda scheduler: PluginExecutor(settings, scheduler)


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Callable[[Mapping[str, str]], None]:
    """Pretend the packages installed declare these entry points (name -> "module:attr")."""

    def install(points: Mapping[str, str]) -> None:
        found = [EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in points.items()]
        monkeypatch.setattr(executor_registry, "_entry_points", lambda: found)

    install({})
    return install


@pytest.fixture
def scheduler_with(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Callable[[str], Scheduler]]:
    built: list[Scheduler] = []

    def build(executor: str) -> Scheduler:
        monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", executor)
        monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(tmp_path / "dags"))
        store = MemoryStore(clock=FakeClock())
        built.append(build_scheduler(load_settings(), store=store, clock=FakeClock()))
        return built[-1]

    yield build
    for scheduler in built:
        scheduler.executor.stop()


@pytest.mark.parametrize(
    ("name", "kind"),
    [("local", LocalExecutor), ("in_process", InProcessExecutor), ("celery", CeleryExecutor)],
)
def test_the_built_in_executors(
    installed: Callable[[Mapping[str, str]], None],
    scheduler_with: Callable[[str], Scheduler],
    name: str,
    kind: type[Executor],
) -> None:
    scheduler = scheduler_with(name)
    assert isinstance(scheduler.executor, kind)
    assert available_executors() == ["local", "in_process", "celery"]


def test_an_unknown_name_is_one_error_naming_the_setting_value_and_choices(
    installed: Callable[[Mapping[str, str]], None],
    scheduler_with: Callable[[str], Scheduler],
) -> None:
    installed({"acme": f"{__name__}:plugin_factory"})
    # The settings load it (an installed package may provide it); the scheduler refuses it.
    with pytest.raises(SettingsError) as raised:
        scheduler_with("kubernetes")
    assert str(raised.value) == (
        "scheduler.executor is 'kubernetes', which is not an executor here; available: "
        "'local', 'in_process', 'celery', 'acme' (an installed package adds one through the "
        "entry-point group 'headwater.executors')"
    )


def test_an_installed_package_adds_an_executor_through_its_entry_point(
    installed: Callable[[Mapping[str, str]], None],
    scheduler_with: Callable[[str], Scheduler],
) -> None:
    installed({"acme": f"{__name__}:plugin_factory"})
    assert available_executors() == ["local", "in_process", "celery", "acme"]

    scheduler = scheduler_with("acme")

    assert isinstance(scheduler.executor, PluginExecutor)
    assert scheduler.executor.scheduler is scheduler
    assert scheduler.executor.settings.scheduler.executor == "acme"


def test_an_entry_point_that_cannot_be_loaded_is_named(
    installed: Callable[[Mapping[str, str]], None],
    scheduler_with: Callable[[str], Scheduler],
) -> None:
    installed({"acme": "no_such_headwater_plugin:factory"})
    with pytest.raises(SettingsError) as raised:
        scheduler_with("acme")
    assert str(raised.value) == (
        "scheduler.executor is 'acme', but its entry point 'no_such_headwater_plugin:factory' "
        "(group 'headwater.executors') cannot be loaded: ModuleNotFoundError: No module named "
        "'no_such_headwater_plugin'"
    )


def test_an_executor_registered_in_this_process(
    installed: Callable[[Mapping[str, str]], None],
    scheduler_with: Callable[[str], Scheduler],
) -> None:
    register_executor("embedded", plugin_factory)
    try:
        assert available_executors() == ["local", "in_process", "celery", "embedded"]
        scheduler = scheduler_with("embedded")
        assert isinstance(scheduler.executor, PluginExecutor)
        with pytest.raises(Exception, match="'embedded' is registered already"):
            register_executor("embedded", plugin_factory)
        with pytest.raises(Exception, match="'local' is built in"):
            register_executor("local", plugin_factory)
    finally:
        unregister_executor("embedded")
    assert available_executors() == ["local", "in_process", "celery"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "command", [["scheduler", "--no-dag-processor"], ["standalone"]], ids=lambda c: c[0]
)
def test_an_unknown_name_stops_the_command_before_it_opens_the_database(
    headwater_home: Path, command: list[str]
) -> None:
    env = {**os.environ, "HEADWATER__SCHEDULER__EXECUTOR": "kubernetes"}
    done = subprocess.run(
        [sys.executable, "-m", "headwater", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "Error: scheduler.executor is 'kubernetes', which is not an executor here; available: "
        "'local', 'in_process', 'celery' (an installed package adds one through the "
        "entry-point group 'headwater.executors')"
    ]
    assert not list(headwater_home.glob("headwater.db*"))
