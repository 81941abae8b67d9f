"""What a scheduler's fork server preloads for lineage: with events sent, the module that
loads the client's UUID function and the producer URI once, for every worker it forks; with
lineage off, nothing of it. And the producer URI names the installed version."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import headwater
from headwater.lineage.events import producer
from headwater.scheduler.service import LINEAGE_PRELOAD, WORKER_PRELOAD, worker_preload
from headwater.settings import Settings
from headwater.settings_operations import LineageSettings


def test_the_fork_server_preloads_lineage_only_when_events_are_sent(tmp_path: Path) -> None:
    off = Settings(home=tmp_path)
    on = replace(off, lineage=LineageSettings(transport="http", url="http://127.0.0.1:9"))
    assert worker_preload(off) == WORKER_PRELOAD
    assert LINEAGE_PRELOAD not in worker_preload(off)
    assert worker_preload(on) == (*WORKER_PRELOAD, LINEAGE_PRELOAD)


def test_importing_the_preload_loads_the_uuid_function_without_the_client_package() -> None:
    pytest.importorskip("openlineage.client")
    code = f"""
import sys
import {LINEAGE_PRELOAD}
from headwater.lineage.run_ids import generate_static_uuid
print(generate_static_uuid.cache_info().currsize)
print("headwater.lineage._openlineage_uuid" in sys.modules)
print(sorted(name for name in sys.modules if name.startswith("openlineage")))
"""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["1", "True", "[]"]


def test_the_producer_names_the_installed_distributions_version() -> None:
    installed = importlib.metadata.version("headwater")
    assert headwater.__version__ == installed
    assert producer() == f"https://pypi.org/project/headwater/{installed}/"
