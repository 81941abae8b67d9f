"""The Dockerfile, .dockerignore and compose.yaml.

This machine has the docker CLI without a daemon and without the compose plugin: `docker
build` and `docker compose config` skip, saying so, and run where they can. What runs here:
the Dockerfile's COPY sources exist and reach the build context, its install step names an
extra the package has, its entry point is headwater's console script; every compose service
that runs headwater runs a real command, its healthcheck too, and its environment is valid
settings."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_files import (
    IMAGE,
    IMAGE_UID,
    REPO,
    check_command,
    settings_environment,
    shell_command,
    tool,
)

from headwater.settings import load_settings

DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "compose.yaml"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continued lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def _copy_sources() -> list[str]:
    sources = []
    for keyword, rest in instructions():
        if keyword == "COPY" and not rest.startswith("--from="):
            *from_context, _destination = shlex.split(rest)
            sources += from_context
    return sources


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_copy_sources_exist_and_reach_the_build_context() -> None:
    sources = _copy_sources()
    assert sources, "the Dockerfile copies nothing from the context"
    ignore = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    ignore = [line for line in ignore if line and not line.startswith("#")]
    assert ignore[0] == "*", ".dockerignore lists what goes in, after excluding everything"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: no such file in the checkout"
        assert source.rstrip("/") in allowed, f"COPY {source}: left out by .dockerignore"


def test_what_is_copied_is_what_installing_the_package_reads() -> None:
    """setuptools needs pyproject.toml, the readme and license it names, and the packages
    under src/ with their data files."""
    project = _pyproject()["project"]
    copied = {source.rstrip("/") for source in _copy_sources()}
    assert {"pyproject.toml", project["readme"], "LICENSE", "src"} <= copied
    assert _pyproject()["tool"]["setuptools"]["packages"]["find"]["where"] == ["src"]
    for pattern in _pyproject()["tool"]["setuptools"]["package-data"]["headwater"]:
        assert list((REPO / "src/headwater").glob(pattern)), f"package data {pattern}: no file"


def test_install_step_names_an_extra_of_the_package() -> None:
    runs = [rest for keyword, rest in instructions() if keyword == "RUN" and "pip install" in rest]
    (install,) = runs
    target = shlex.split(install)[-1]
    extra = re.fullmatch(r"\.\[(\w+)\]", target)
    assert extra, f"the install step installs {target!r}, not the checkout with an extra"
    assert extra.group(1) in _pyproject()["project"]["optional-dependencies"]


def test_entry_point_is_the_console_script_and_the_user_is_not_root() -> None:
    final = instructions()
    last_from = max(n for n, (keyword, _) in enumerate(final) if keyword == "FROM")
    stage = final[last_from:]
    entrypoint = [json.loads(rest) for keyword, rest in stage if keyword == "ENTRYPOINT"]
    assert entrypoint == [["headwater"]]
    assert _pyproject()["project"]["scripts"]["headwater"] == "headwater.cli:main"
    user = [rest for keyword, rest in stage if keyword == "USER"]
    assert user == [f"{IMAGE_UID}:{IMAGE_UID}"]
    assert stage[0][1].startswith("python:3.11-slim")
    cmd = [json.loads(rest) for keyword, rest in stage if keyword == "CMD"]
    assert cmd == [["--help"]]


def test_docker_build(tmp_path: Path) -> None:
    docker = tool("docker")
    if docker is None:
        pytest.skip("the docker CLI is not installed on this machine")
    info = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=30, check=False)
    if info.returncode != 0:
        pytest.skip(f"no docker daemon answers here: {info.stderr.strip().splitlines()[-1]}")
    done = subprocess.run(
        [docker, "build", "--tag", IMAGE, str(REPO)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run = subprocess.run(
        [docker, "run", "--rm", IMAGE, "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0 and "headwater" in run.stdout, run.stderr


# compose.yaml


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} (the forms compose.yaml uses)."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if variables.get(name):
            return variables[name]
        if op == ":-":
            return arg
        assert op == ":?", f"${{{name}}} has neither a default nor an error"
        raise AssertionError(f"${{{name}}}: {arg}")

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def _headwater_services() -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose()["services"].items() if s.get("image") == IMAGE}


def test_the_services() -> None:
    services = compose()["services"]
    assert set(services) == {
        "postgres", "redis", "migrate", "scheduler-1", "scheduler-2", "dag-processor",
        "triggerer", "api-server", "worker-1", "worker-2",
    }  # fmt: skip
    headwater = _headwater_services()
    assert set(headwater) == set(services) - {"postgres", "redis"}
    for name, service in headwater.items():
        assert service["build"] == "."
        assert "/opt/headwater/dags:ro" in " ".join(service["volumes"]), name
        if name != "migrate":
            assert service["depends_on"]["migrate"] == {
                "condition": "service_completed_successfully"
            }
            assert service["healthcheck"]["test"], name
            assert service["restart"] == "on-failure", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    assert set(compose()["volumes"]) == {"postgres", "remote-logs"}


def test_each_service_and_healthcheck_runs_a_real_command() -> None:
    for name, service in _headwater_services().items():
        commands = {name: list(service["command"])}
        test = service.get("healthcheck", {}).get("test")
        if test and test[0] == "CMD-SHELL":
            commands[f"{name} healthcheck"] = shell_command(test[1].replace("$$", "$"))
        elif test:
            assert test[:2] == ["CMD", "python"], test
            assert "http://127.0.0.1:8080/api/v1/health" in test[-1]
            assert service["command"] == ["api-server", "--port", "8080"]
        for where, argv in commands.items():
            check_command(argv, where)


def test_the_environment_is_valid_settings(tmp_path: Path) -> None:
    variables = {"HEADWATER_FERNET_KEY": "a-key"}
    for name, service in _headwater_services().items():
        env = {k: interpolate(str(v), variables) for k, v in service["environment"].items()}
        settings = load_settings(settings_environment(env, tmp_path))
        assert "@postgres:5432/headwater" in settings.database_url, name
        assert settings.scheduler.executor == "celery", name
        assert settings.secrets.fernet_key == "a-key", name


def test_the_fernet_key_must_be_given() -> None:
    (service,) = [s for n, s in _headwater_services().items() if n == "migrate"]
    value = service["environment"]["HEADWATER__SECRETS__FERNET_KEY"]
    with pytest.raises(AssertionError, match="set HEADWATER_FERNET_KEY"):
        interpolate(value, {})


def test_docker_compose_config() -> None:
    docker = tool("docker")
    if docker is None:
        pytest.skip("the docker CLI is not installed on this machine")
    version = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=30, check=False
    )
    if version.returncode != 0:
        pytest.skip(
            "the docker CLI here has no compose plugin (`docker compose version` fails): "
            "compose.yaml is checked by parsing it instead"
        )
    done = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "HEADWATER_FERNET_KEY": "a-key"},
    )
    assert done.returncode == 0, done.stderr
