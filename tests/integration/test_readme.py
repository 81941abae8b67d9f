"""README.md keeps its promises: two set-up commands, and a first pipeline that runs as shown.

"Your first pipeline" is read from the README itself: its first ```python block is written
out as ``dags/my_dag.py``, loaded, run, and its ```sh commands are run as written.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from headwater.exceptions import ParamValidationError
from headwater.testing import assert_dags_load, run_dag

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DAY = datetime(2024, 1, 31, tzinfo=UTC)


def _section(heading: str) -> str:
    """The text under ``## heading``, up to the next level-2 heading."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(heading)}[ \t]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README.md has no '## {heading}' section"
    return match.group(1)


def _code_blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```[ \t]*$", section, re.M | re.S)


def _commands(section: str) -> list[str]:
    """The shell commands of a section's ```sh blocks, without comments or blank lines."""
    commands = []
    for block in _code_blocks(section, "sh"):
        for line in block.splitlines():
            command = line.split(" #", 1)[0].strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


@pytest.fixture
def dags_folder(tmp_path: Path) -> Path:
    blocks = _code_blocks(_section("Your first pipeline"), "python")
    assert blocks, "'Your first pipeline' has no ```python block"
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "my_dag.py").write_text(blocks[0], encoding="utf-8")
    return folder


def test_quickstart_is_exactly_make_run_and_make_test() -> None:
    assert _commands(_section("Quickstart")) == ["make run", "make test"]
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for target in ("run", "test"):
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile has no '{target}' target"


def test_first_pipeline_loads_and_runs(dags_folder: Path) -> None:
    dag = assert_dags_load(dags_folder).get_dag("my_dag")

    result = run_dag(dag, logical_date=DAY)

    assert result.succeeded, result.task_states
    assert result.task_states == {
        "start": "success",
        "list_cities": "success",
        "greet[0]": "success",
        "greet[1]": "success",
        "greet[2]": "success",
        "report": "success",
    }
    assert result.xcom("start") == "Processing 2024-01-31"
    assert result.xcom("greet") == [
        "Hello Berlin on 2024-01-31",
        "Hello Lyon on 2024-01-31",
        "Hello Porto on 2024-01-31",
    ]
    assert result.xcom("report") == 3
    assert "Hello Lyon on 2024-01-31" in result.log("report")
    assert result.rendered("start") == {"bash_command": "echo 'Processing 2024-01-31'"}


def test_first_pipeline_params(dags_folder: Path) -> None:
    dag = assert_dags_load(dags_folder).get_dag("my_dag")

    result = run_dag(dag, logical_date=DAY, conf={"cities": ["Oslo"]})

    assert result.succeeded
    assert result.xcom("greet") == ["Hello Oslo on 2024-01-31"]
    assert result.xcom("report") == 1
    with pytest.raises(ParamValidationError, match="param 'cities'"):
        run_dag(dag, logical_date=DAY, conf={"cities": []})


def test_first_pipeline_commands_work_as_written(dags_folder: Path) -> None:
    commands = _commands(_section("Your first pipeline"))
    assert any(
        c.startswith(".venv/bin/headwater dags test my_dag --folder dags/") for c in commands
    )
    assert ".venv/bin/python dags/my_dag.py" in commands
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "COLUMNS": "200"}  # HEADWATER_HOME comes from tests/conftest.py
    for command in commands:
        args = shlex.split(command)
        args[0] = str(bin_dir / Path(args[0]).name)  # this interpreter's .venv/bin
        done = subprocess.run(
            args,
            cwd=dags_folder.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        if args[1:3] == ["dags", "test"]:
            assert "DAG my_dag succeeded" in done.stdout
        else:
            assert done.stdout.strip() == "success 3"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize(
    "doc",
    [
        "README.md",
        "CHANGELOG.md",
        *(str(path.relative_to(REPO)) for path in sorted((REPO / "docs").glob("*.md"))),
    ],
)
def test_links_point_to_files_and_headings(doc: str) -> None:
    path = REPO / doc
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if "://" in target:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md":
            linked_text = re.sub(
                r"^```.*?^```", "", linked.read_text(encoding="utf-8"), flags=re.M | re.S
            )
            headings = re.findall(r"^#+ (.+)$", linked_text, re.M)
            if anchor not in {_slug(h) for h in headings}:
                broken.append(target)
    assert not broken, f"{doc} has broken links: {broken}"


def test_the_configuration_guide_lists_every_setting_with_its_default() -> None:
    import dataclasses

    from headwater.settings import Settings

    guide = (REPO / "docs" / "configuration.md").read_text()
    rows = {
        line.split("|")[1].strip(" `"): line.split("|")
        for line in guide.splitlines()
        if line.startswith("| `") and "." in line.split("|")[1]
    }
    for section in dataclasses.fields(Settings):
        if not dataclasses.is_dataclass(section.default_factory):  # type: ignore[arg-type]
            continue
        for setting in dataclasses.fields(section.default_factory):  # type: ignore[arg-type]
            name = f"{section.name}.{setting.name}"
            assert name in rows, f"docs/configuration.md does not list {name}"
            default = setting.default
            if default not in ("", None):
                shown = str(default).lower() if isinstance(default, bool) else str(default)
                assert f"`{shown}`" in rows[name][3], f"{name}: the guide's default is not {shown}"
            variable = f"HEADWATER__{section.name.upper()}__{setting.name.upper()}"
            assert variable in rows[name][4], f"{name}: the guide does not name {variable}"
