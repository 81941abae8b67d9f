"""Virtual environments kept between runs, one per requirement set: ``<home>/venvs/<key>``.

The key is a hash of what makes two environments the same: the interpreter (its real path
and version), the sorted requirements, ``system_site_packages`` and the pip options. A
second run with the same set finds the folder ready and creates nothing.

Creation is guarded twice. Creators of one key take an exclusive lock (``<key>.lock``,
``flock``: released by the kernel if a creator dies), so a concurrent second creator waits
and then reuses what the first built. And an environment counts as ready only once its
marker file (``.headwater-ready``) exists, written last: a folder without one is half built
(a creator killed midway) and is removed and built again; a failed ``venv`` or ``pip
install`` removes its folder before it reports the error, so no half cache is ever used.

Built in place rather than in a temporary folder renamed at the end: an environment is not
relocatable (``bin/pip``, ``bin/activate`` and the console scripts of installed packages
hold its absolute path), and the lock plus the marker give the same all-or-nothing result.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from headwater.exceptions import HeadwaterError

READY_MARKER = ".headwater-ready"
OUTPUT_TAIL_LINES = 25
_VERSION = re.compile(r"\d+(\.\d+){0,2}")


class VirtualenvError(HeadwaterError):
    """A virtual environment could not be created, or its requirements installed."""


@dataclass(frozen=True)
class VenvSpec:
    """What one cached environment holds."""

    python: str
    """The interpreter the environment is made from (a path)."""
    requirements: tuple[str, ...]
    system_site_packages: bool
    pip_install_options: tuple[str, ...]

    def key(self, python_version: str) -> str:
        document = {
            "python": os.path.realpath(self.python),
            "version": python_version,
            "requirements": sorted(self.requirements),
            "system_site_packages": self.system_site_packages,
            "pip_install_options": list(self.pip_install_options),
        }
        text = json.dumps(document, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def find_interpreter(python_version: str | None) -> str:
    """The interpreter for ``python_version`` (``"3.11"``: ``python3.11`` on the PATH); this
    process's own for None."""
    if python_version is None:
        return sys.executable
    if not _VERSION.fullmatch(python_version):
        raise VirtualenvError(
            f"python_version {python_version!r} is not a version such as '3' or '3.11'"
        )
    found = shutil.which(f"python{python_version}")
    if found is None:
        raise VirtualenvError(
            f"python_version {python_version!r}: no interpreter python{python_version} on the "
            "PATH of this worker"
        )
    return found


def _tail(output: str) -> str:
    lines = output.rstrip().splitlines()[-OUTPUT_TAIL_LINES:]
    return "\n".join(lines)


def _run(command: Sequence[str], what: str, timeout_s: float, log: logging.Logger) -> str:
    """Run ``command``; its output, logged; a VirtualenvError with its tail when it fails."""
    try:
        done = subprocess.run(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.output.decode(errors="replace") if exc.output else ""
        raise VirtualenvError(
            f"{what} took longer than {timeout_s:g} s and was stopped; its last output:\n"
            f"{_tail(out)}"
        ) from None
    except OSError as exc:
        raise VirtualenvError(f"{what} could not start: {exc}") from None
    output = done.stdout.decode(errors="replace")
    for line in output.splitlines():
        log.info("%s", line)
    if done.returncode != 0:
        raise VirtualenvError(
            f"{what} failed with exit code {done.returncode}; its last output:\n{_tail(output)}"
        )
    return output


def _version_of(python: str, log: logging.Logger) -> str:
    if python == sys.executable:
        return sys.version
    command = [python, "-c", "import sys; print(sys.version)"]
    return _run(command, f"{python} --version", 60, log).strip()


def cached_virtualenv(
    spec: VenvSpec, root: Path, log: logging.Logger, *, timeout_s: float = 900.0
) -> Path:
    """The interpreter of the ready environment for ``spec`` under ``root``, creating the
    environment first if needed (see the module docstring); ``timeout_s`` bounds each of
    ``venv`` and ``pip install``."""
    folder = root / spec.key(_version_of(spec.python, log))
    python = folder / "bin" / "python"
    if (folder / READY_MARKER).is_file():
        log.info("Using the cached virtual environment %s", folder)
        return python
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{folder.name}.lock", "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("Waiting for another task creating the virtual environment %s", folder)
            fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / READY_MARKER).is_file():
            log.info("Using the virtual environment %s another task just created", folder)
            return python
        if folder.exists():
            log.warning("Removing the half-built virtual environment %s", folder)
            shutil.rmtree(folder)
        try:
            _create(spec, folder, timeout_s, log)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    return python


def _create(spec: VenvSpec, folder: Path, timeout_s: float, log: logging.Logger) -> None:
    log.info(
        "Creating a virtual environment in %s (python %s, requirements: %s)",
        folder,
        spec.python,
        ", ".join(spec.requirements) or "none",
    )
    command = [spec.python, "-m", "venv"]
    if spec.system_site_packages:
        command.append("--system-site-packages")
    if not spec.requirements:
        command.append("--without-pip")  # nothing to install: much faster without pip
    _run([*command, str(folder)], "creating the virtual environment", timeout_s, log)
    if spec.requirements:
        pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "--no-input"]
        pip += ["--disable-pip-version-check", *spec.pip_install_options, *spec.requirements]
        _run(pip, f"pip install {' '.join(spec.requirements)}", timeout_s, log)
    marker = {"requirements": list(spec.requirements), "python": spec.python}
    temporary = folder / f"{READY_MARKER}.tmp"
    temporary.write_text(json.dumps(marker))
    os.replace(temporary, folder / READY_MARKER)
