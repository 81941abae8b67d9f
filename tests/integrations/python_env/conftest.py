"""What the tests of functions run in other Python environments share: a probe of the
package index, which the one test that installs a real requirement needs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SMALL_REQUIREMENT = "six==1.17.0"
"""A small, pure-Python package with no dependencies: quick to install from the index."""


@pytest.fixture(scope="session")
def package_index(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The requirement to install, once pip reached the configured package index (pip's
    own configuration: ``pip config list``); skips (fails on CI) when it cannot."""
    folder: Path = tmp_path_factory.mktemp("pip-probe")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(folder)]
    try:
        done = subprocess.run(
            [*command, SMALL_REQUIREMENT], capture_output=True, text=True, timeout=180
        )
        failure = None if done.returncode == 0 else done.stdout[-800:] + done.stderr[-800:]
    except subprocess.TimeoutExpired:
        failure = "pip download took longer than 180 s"
    if failure is not None:
        reason = f"the package index cannot be reached to install {SMALL_REQUIREMENT}: {failure}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return SMALL_REQUIREMENT


# The scheduler harness of tests/scheduler, shared rather than copied.
sys.path.insert(0, str(Path(__file__).parents[2] / "scheduler"))
