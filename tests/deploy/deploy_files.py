"""What the deployment tests share: where the files are, and the check that a command line
of a unit, a container or a probe names a real `headwater` command with options it has.

The command lines are parsed by headwater's own click tree (`headwater.cli.cli`), with
`make_context`: the same parsing `headwater` does before it runs a command, so an unknown
command, an unknown option, a missing required one or a value out of range fails here."""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from headwater.cli import cli

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"

IMAGE = "headwater:0.1.0"
"""The image the compose file and the kustomize base name (the Dockerfile builds it)."""

IMAGE_UID = 10001
"""The Dockerfile's `USER`; Kubernetes' runAsUser names it too."""


def check_command(argv: Sequence[str], where: str) -> None:
    """Check that ``headwater *argv`` parses; raises AssertionError naming ``where`` when it
    does not (or only prints and exits, as ``--help`` does)."""
    assert argv, f"{where}: no headwater command"
    args = list(argv)
    command: click.Command = cli
    ctx = click.Context(cli, info_name="headwater")
    path = ["headwater"]
    while isinstance(command, click.Group):
        assert args, f"{where}: `{' '.join(path)}` needs a command"
        name = args.pop(0)
        sub = command.get_command(ctx, name)
        if sub is None:
            known = ", ".join(command.list_commands(ctx))
            raise AssertionError(f"{where}: `{' '.join(path)}` has no command {name!r} ({known})")
        path.append(name)
        parent = ctx
        ctx = click.Context(sub, info_name=name, parent=parent)
        command = sub
    try:
        command.make_context(path[-1], args, parent=ctx.parent).close()
    except click.exceptions.Exit as exc:  # --help or --version: runs nothing in a service
        raise AssertionError(f"{where}: `{' '.join(path)}` only prints and exits") from exc
    except click.UsageError as exc:
        shown = shlex.join([*path, *args])
        raise AssertionError(f"{where}: `{shown}`: {exc.format_message()}") from None


def shell_command(script: str) -> list[str]:
    """The words of a one-line shell command such as `exec headwater jobs check ...`, without
    `exec` and the leading `headwater` (asserted); of a pipeline, those of its first
    command."""
    words = shlex.split(script)
    if "|" in words:
        words = words[: words.index("|")]
    if words and words[0] == "exec":
        words = words[1:]
    assert words and words[0] == "headwater", f"not a headwater command: {script!r}"
    return words[1:]


def tool(name: str) -> str | None:
    """The path of an external tool, or None."""
    return shutil.which(name)


def settings_environment(variables: Mapping[str, str], home: Path) -> dict[str, str]:
    """``variables`` (a deployment's environment) as an environment to load settings from:
    the home is ``home`` (so no headwater.toml of this machine is read), nothing else of this
    process's environment."""
    return {**variables, "HEADWATER_HOME": str(home), "PATH": os.environ.get("PATH", "")}
