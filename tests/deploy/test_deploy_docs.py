"""docs/deploy.md stays true: the files it links exist, and every `headwater` command line
in its shell examples names a real command with options it has."""

from __future__ import annotations

import re
import shlex

from deploy_files import REPO, check_command

GUIDE = REPO / "docs" / "deploy.md"


def test_the_files_it_links_exist() -> None:
    links = re.findall(r"\]\((\.\./[^)#]+)\)", GUIDE.read_text())
    assert links
    for link in links:
        assert (GUIDE.parent / link).exists(), f"docs/deploy.md links {link}: no such file"


def test_its_headwater_command_lines_are_real() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), flags=re.S)
    assert blocks
    checked = 0
    for block in blocks:
        for line in (raw.strip() for raw in block.splitlines()):
            if line.split(" ", 1)[0] not in ("headwater", "/opt/headwater/venv/bin/headwater"):
                continue
            words = shlex.split(line, comments=True)
            if words:
                checked += 1
                shown = shlex.join(words)
                check_command(words[1:], f"docs/deploy.md: {shown}")
    assert checked >= 8
