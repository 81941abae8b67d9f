"""The systemd units (deploy/systemd): each parses, runs a real `headwater` command as the
dedicated user with the environment file, restarts on failure and stops warmly;
`systemd-analyze verify` accepts them; and their command lines, run together on this
machine (SQLite, the local executor), make a deployment whose health endpoint reports every
part healthy, then each stops cleanly on SIGTERM within its unit's TimeoutStopSec.

This machine has no systemd as PID 1, so the units themselves are not started (no
`systemctl`, no `systemd-run`): their ExecStart lines are."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from deploy_files import DEPLOY, check_command, settings_environment, tool

from command_processes import clean_env, kill_session, wait_for
from headwater.settings import load_settings
from headwater.settings_daemons import SchedulerSettings

UNITS = DEPLOY / "systemd"
ENV_EXAMPLE = UNITS / "headwater.env.example"
INSTALLED = "/opt/headwater/venv/bin/headwater"
"""Where the units expect headwater (docs/deploy.md installs it there)."""

HEADWATER = str(Path(sys.executable).parent / "headwater")
"""This checkout's headwater, standing in for INSTALLED when the command lines run here."""

DAEMONS = ["scheduler", "dag-processor", "triggerer", "api-server", "celery-worker@"]


@dataclasses.dataclass(frozen=True)
class Unit:
    path: Path
    sections: dict[str, list[tuple[str, str]]]

    def values(self, section: str, key: str) -> list[str]:
        return [v for k, v in self.sections.get(section, []) if k == key]

    def one(self, section: str, key: str) -> str:
        (value,) = self.values(section, key)
        return value

    def environment(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for line in self.values("Service", "Environment"):
            env.update(word.split("=", 1) for word in shlex.split(line))  # type: ignore[misc]
        return env

    def command(self) -> list[str]:
        """ExecStart's arguments after the headwater path, specifiers and ${VARIABLES} of
        Environment= expanded (instance 1 on host `host`)."""
        line = self.one("Service", "ExecStart")
        assert "$" not in re.sub(r"\$\{\w+\}", "", line), f"{self.path.name}: use ${{VAR}}"
        env = self.environment()
        line = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], line)
        line = line.replace("%i", "1").replace("%H", "host").replace("%%", "%")
        words = shlex.split(line)
        assert words[0] == INSTALLED, f"{self.path.name}: ExecStart runs {words[0]}"
        return words[1:]


def parse_unit(path: Path) -> Unit:
    """A unit file's sections, each a list of (key, value): keys may repeat (systemd's
    EnvironmentFile=, Environment=), which configparser refuses."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        assert not line.endswith("\\"), f"{path.name}:{number}: no continued lines"
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"{path.name}:{number}: not key=value: {raw!r}"
        current.append((key.strip(), value.strip()))
    return Unit(path, sections)


def unit(name: str) -> Unit:
    return parse_unit(UNITS / f"headwater-{name}.service")


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an environment file (systemd's EnvironmentFile=)."""
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
            pairs[key.strip()] = value.strip()
    return pairs


def test_the_folder_has_the_units_and_the_environment_example() -> None:
    names = sorted(p.name for p in UNITS.iterdir())
    assert names == sorted(
        [f"headwater-{n}.service" for n in [*DAEMONS, "db-migrate"]] + [ENV_EXAMPLE.name]
    )


@pytest.mark.parametrize("name", [*DAEMONS, "db-migrate"])
def test_each_unit_runs_a_real_command_as_the_dedicated_user(name: str) -> None:
    service = unit(name)
    assert service.one("Service", "User") == service.one("Service", "Group") == "headwater"
    assert service.values("Service", "EnvironmentFile")[0] == "/etc/headwater/headwater.env"
    assert service.one("Service", "WorkingDirectory") == "/var/lib/headwater"
    assert service.one("Install", "WantedBy") == "multi-user.target"
    check_command(service.command(), service.path.name)


@pytest.mark.parametrize("name", DAEMONS)
def test_daemons_restart_on_failure_and_stop_warmly(name: str) -> None:
    service = unit(name)
    assert service.one("Service", "Type") == "simple"
    # The example's logs folder is under /var/log/headwater, which systemd creates for it.
    assert env_file(ENV_EXAMPLE)["HEADWATER__LOGGING__LOGS_FOLDER"].startswith(
        "/var/log/headwater/"
    )
    assert service.one("Service", "LogsDirectory") == "headwater"
    assert service.one("Service", "Restart") == "on-failure"
    assert service.one("Service", "KillSignal") == "SIGTERM"
    # SIGTERM to headwater alone: it stops its own children in order (a scheduler's running
    # attempts are recorded as stopped); the rest of the group is killed only at the timeout.
    assert service.one("Service", "KillMode") == "mixed"
    stop_s = int(service.one("Service", "TimeoutStopSec"))
    assert stop_s >= 30
    if name == "scheduler":
        assert stop_s > 10 + SchedulerSettings().kill_grace_s
    if name == "celery-worker@":
        assert stop_s >= 300  # Celery's warm stop waits for the running attempts
    assert service.one("Unit", "Requires") == "headwater-db-migrate.service"
    assert "headwater-db-migrate.service" in service.one("Unit", "After").split()


def test_the_migration_runs_once_before_the_daemons() -> None:
    service = unit("db-migrate")
    assert service.one("Service", "Type") == "oneshot"
    assert service.one("Service", "RemainAfterExit") == "yes"
    assert service.command() == ["db", "migrate"]


def test_worker_instances_take_queues_and_concurrency_from_their_environment() -> None:
    service = unit("celery-worker@")
    assert service.values("Service", "EnvironmentFile")[1] == "-/etc/headwater/worker-%i.env"
    assert service.command() == [
        "celery", "worker", "--queues", "default", "--concurrency", "8", "--hostname", "worker1@host"
    ]  # fmt: skip


def test_the_environment_example_is_valid_settings(tmp_path: Path) -> None:
    settings = load_settings(settings_environment(env_file(ENV_EXAMPLE), tmp_path))
    assert settings.scheduler.executor == "celery"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.dags_folder == Path("/srv/headwater/dags")


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed on this machine")
    # verify checks that ExecStart's program exists: this checkout's headwater stands in.
    for path in UNITS.glob("*.service"):
        (tmp_path / path.name).write_text(path.read_text().replace(INSTALLED, HEADWATER))
    done = subprocess.run(
        [analyze, "verify", *sorted(str(p) for p in tmp_path.glob("*.service"))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    ours = [line for line in done.stderr.splitlines() if str(tmp_path) in line]
    assert done.returncode == 0 and not ours, done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        health = httpx.get(url, timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return False
    parts = ("scheduler", "dag_processor", "triggerer")
    return health["status"] == "healthy" and all(
        (health[p] or {}).get("status") == "healthy" for p in parts
    )


@pytest.mark.slow
def test_the_units_command_lines_run_a_deployment_and_stop_warmly(tmp_path: Path) -> None:
    port = _free_port()
    (tmp_path / "dags").mkdir()
    env = {
        **clean_env(tmp_path / "home"),
        **env_file(ENV_EXAMPLE),
        # This machine instead of the example's hosts: SQLite, the local executor (one
        # scheduler; the Celery executor's own tests run workers), a free port.
        "HEADWATER_HOME": str(tmp_path / "home"),
        "HEADWATER_DATABASE_URL": f"sqlite:///{tmp_path / 'headwater.db'}",
        "HEADWATER__SECRETS__FERNET_KEY": Fernet.generate_key().decode(),
        "HEADWATER__CORE__DAGS_FOLDER": str(tmp_path / "dags"),
        "HEADWATER__SCHEDULER__EXECUTOR": "local",
        "HEADWATER__LOGGING__LOGS_FOLDER": str(tmp_path / "logs"),
        "HEADWATER__LOGGING__REMOTE_LOG_FOLDER": str(tmp_path / "remote-logs"),
        "HEADWATER__API__HOST": "127.0.0.1",
        "HEADWATER__API__PORT": str(port),
        # Heartbeats sooner than by default, so that health says "healthy" sooner.
        "HEADWATER__SCHEDULER__HEARTBEAT_INTERVAL_S": "0.5",
        "HEADWATER__TRIGGERER__HEARTBEAT_INTERVAL_S": "0.5",
        "HEADWATER__SCHEDULER__DAG_DIR_LIST_INTERVAL_S": "0.5",
    }
    migrate = subprocess.run(
        [HEADWATER, *unit("db-migrate").command()],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr
    names = ["scheduler", "dag-processor", "triggerer", "api-server"]
    processes: dict[str, subprocess.Popen[str]] = {}
    with contextlib.ExitStack() as logs_open:
        logs_open.callback(_stop_all, processes)
        for name in names:
            log = logs_open.enter_context((tmp_path / f"{name}.log").open("w"))
            processes[name] = subprocess.Popen(
                [HEADWATER, *unit(name).command()],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}/api/v1/health"
        try:
            wait_for(lambda: _healthy(url), "every part healthy at /api/v1/health", 90)
        except AssertionError:
            logs = {n: (tmp_path / f"{n}.log").read_text()[-2000:] for n in names}
            raise AssertionError(f"not healthy; the processes' logs: {logs}") from None
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for name, process in processes.items():
            # Within the unit's TimeoutStopSec (else systemd would SIGKILL it), with 0:
            # Restart=on-failure does not restart a unit that was stopped.
            code = process.wait(timeout=int(unit(name).one("Service", "TimeoutStopSec")))
            log = (tmp_path / f"{name}.log").read_text()[-2000:]
            assert code == 0, f"{name}: exit {code} after SIGTERM; {log}"


def _stop_all(processes: dict[str, subprocess.Popen[str]]) -> None:
    """Whatever happened, nothing the test started outlives it."""
    for process in processes.values():
        kill_session(process.pid)
        process.wait()
