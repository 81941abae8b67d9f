"""What ``headwater.sensors`` and ``headwater.triggers`` export: every name in ``__all__``
resolves, and importing either loads no HTTP client or SQL layer (a DAG file that only uses
a FileSensor pays for neither)."""

from __future__ import annotations

import subprocess
import sys

import headwater.sensors
import headwater.triggers


def test_every_exported_name_resolves() -> None:
    for module in (headwater.sensors, headwater.triggers):
        assert module.__all__ == sorted(module.__all__)
        for name in module.__all__:
            assert getattr(module, name).__name__ == name


def test_importing_the_packages_loads_no_http_or_sql_client() -> None:
    code = (
        "import sys, headwater.sensors, headwater.triggers; "
        "print(sorted(m for m in ('httpx', 'sqlalchemy', 'headwater.hooks.sql') "
        "if m in sys.modules))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert shown.strip() == "[]"
