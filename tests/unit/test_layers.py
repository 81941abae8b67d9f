"""Imports run one way: each part of headwater imports only the parts in layers below its own
(docs/architecture.md draws them). Lazy imports inside functions and imports for type checking
count too: they are dependencies all the same. The few upward imports there are on purpose
are listed, each with its reason. And no module grows past a hard cap on its length."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[2] / "src" / "headwater"

LAYERS: list[set[str]] = [
    {"exceptions", "shown_text", "strict_json", "private_files", "settings_checks", "actors"},
    {
        "settings",
        "settings_daemons",
        "settings_operations",
        "settings_scale_out",
        "xcom_serializers",
        "xcom_objects",
    },
    {"masking", "secrets", "log_format", "sentry_reports"},
    {
        "authoring",
        "operators",
        "hooks",
        "sensors",
        "triggers",
        "timetables",
        "notifications",
        "partitions",
    },
    {"airflow_compat"},
    {"clock"},
    {"engine"},
    {"store", "db"},
    {"executors", "loading", "metrics"},
    {"runtime", "lineage"},
    {"dag_test", "dag_processing"},
    {"scheduler", "triggerer", "celery_executor"},
    {"operations", "testing", "auth"},
    {"services"},
    {"web"},
    {"cli"},
    {"__main__"},
]
"""From the bottom up. Within one layer, parts may import each other."""

ALLOWED_UPWARD: dict[tuple[str, str], str] = {}
"""Upward imports allowed on purpose, each with its reason (none today: ``DAG.test()`` gets
its runner from the package root, ``authoring/in_process_runs.py``)."""


def _part(path: Path) -> str:
    relative = path.relative_to(SRC)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported_parts(path: Path) -> set[str]:
    parts = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "headwater":  # from headwater import strict_json, ...
                names = [f"headwater.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.startswith("headwater."):
                parts.add(name.split(".")[1])
    return parts


def _layer(part: str) -> int:
    for number, layer in enumerate(LAYERS):
        if part in layer:
            return number
    raise AssertionError(f"{part!r} is in no layer: add it to LAYERS in {__file__}")


def test_every_part_is_in_a_layer() -> None:
    for path in SRC.rglob("*.py"):
        if path.name != "__init__.py" or path.parent != SRC:
            _layer(_part(path))


def test_imports_run_one_way() -> None:
    upward = []
    for path in sorted(SRC.rglob("*.py")):
        if path.parent == SRC and path.stem == "__init__":
            continue  # the public API re-exports from every layer
        part = _part(path)
        for imported in _imported_parts(path) - {part}:
            if imported in ("__init__",) or imported not in {p for lay in LAYERS for p in lay}:
                continue
            if _layer(imported) > _layer(part) and (part, imported) not in ALLOWED_UPWARD:
                upward.append(f"{path.relative_to(SRC)} imports headwater.{imported}")
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_the_allowed_upward_imports_are_still_needed() -> None:
    found = set()
    for path in SRC.rglob("*.py"):
        part = _part(path)
        found |= {(part, imported) for imported in _imported_parts(path)}
    assert set(ALLOWED_UPWARD) <= found, set(ALLOWED_UPWARD) - found


MAX_MODULE_LINES = 500
"""A hard cap on a module's length, the style rule's "small modules with one job each": past
it, a module does more than one job and is split into modules that have one each, not grown
(nor squeezed under the cap)."""


def _modules_over(root: Path, cap: int) -> list[str]:
    too_long = []
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > cap:
            too_long.append(f"{path.relative_to(root)}: {lines} lines")
    return too_long


def test_no_module_is_over_the_line_cap() -> None:
    listed = "\n".join(_modules_over(SRC, MAX_MODULE_LINES))
    assert not listed, f"modules over {MAX_MODULE_LINES} lines, split them:\n{listed}"


def test_the_line_cap_lists_each_offender(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "long.py").write_text("x = 1\n" * 4)
    (tmp_path / "short.py").write_text("x = 1\n" * 3)
    assert _modules_over(tmp_path, 3) == ["pkg/long.py: 4 lines"]


CLI_FORBIDDEN = ("headwater.store", "headwater.db", "headwater.operations", "sqlalchemy", "alembic")
"""What the CLI must not import: it reads and changes the database through
``headwater.services`` only, so the REST API, calling the same services, behaves the same."""


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, by its full name (``from headwater import db`` names
    ``headwater.db``), lazy and typing-only imports included."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
            modules |= {f"{node.module}.{alias.name}" for alias in node.names}
    return modules


def _forbidden(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in CLI_FORBIDDEN)


def test_the_cli_reaches_the_database_only_through_the_services() -> None:
    found = [
        f"{path.relative_to(SRC)} imports {module}"
        for path in sorted((SRC / "cli").rglob("*.py"))
        for module in sorted(_imported_modules(path))
        if _forbidden(module)
    ]
    assert not found, "the CLI must use headwater.services instead:\n" + "\n".join(found)


def test_the_cli_check_sees_lazy_and_typing_only_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from headwater.store.sql import SqlStore\n"
        "def f():\n"
        "    import sqlalchemy.exc\n"
        "    from headwater import operations\n"
        "    from headwater.services.runs import list_runs\n"
    )
    assert sorted(m for m in _imported_modules(sample) if _forbidden(m)) == [
        "headwater.operations",
        "headwater.store.sql",
        "headwater.store.sql.SqlStore",
        "sqlalchemy.exc",
    ]
