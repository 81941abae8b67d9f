"""Private broker servers for the broker restart tests: a ``redis-server`` or a RabbitMQ node of
the test's own, on free ports, in the test's own folder, that the test kills with SIGKILL and
starts again on the same port (the machine's shared Redis and RabbitMQ are never touched).

* :class:`PrivateRedis`: ``redis-server`` without persistence (``--save ''``, no AOF): a
  restart loses every key (queued messages, unacknowledged ones, results).
* :class:`PrivateRabbitMQ`: a node with its own name, ports, data folder (``MNESIA_BASE``,
  kept across restarts, so durable queues and persistent messages survive), log folder,
  configuration, plugin list and Erlang cookie (its own ``HOME``), started by RabbitMQ's own
  script, not Debian's ``/usr/sbin`` wrapper (which switches to the ``rabbitmq`` user).

A binary that is missing skips the test saying so; a server that does not start fails it
under ``CI`` and skips it elsewhere, with the end of the server's output.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from command_processes import kill_session, wait_for

START_TIMEOUT_S = 40.0

_RABBITMQ_SCRIPTS = ("/usr/lib/rabbitmq/bin/rabbitmq-server",)
"""RabbitMQ's own start script where a package puts it (Debian's ``/usr/sbin/rabbitmq-server``
runs it as the ``rabbitmq`` user, with that user's Erlang cookie and environment)."""


def free_port() -> int:
    """A TCP port the OS says is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.5):
            return True
    except OSError:
        return False


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


class _PrivateServer:
    """A server process in a session of its own, listening on :attr:`port`."""

    name = "server"

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.log = folder / "server.log"
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _env(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self) -> None:
        """Start the server and wait until it listens (skip or fail if it never does)."""
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(
                self._command(),
                env=self._env(),
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = self._process
        try:
            wait_for(
                lambda: _listening(self.port) or process.poll() is not None,
                f"{self.name} to listen on port {self.port}",
                timeout_s=START_TIMEOUT_S,
            )
        except AssertionError:
            pass
        if process.poll() is not None or not _listening(self.port):
            self.kill()
            tail = self.log.read_text(errors="replace")[-3000:]
            _unavailable(f"a private {self.name} did not start on port {self.port}:\n{tail}")

    def kill(self) -> None:
        """SIGKILL the server and everything it started; wait until it is gone."""
        if self._process is None:
            return
        kill_session(self._process.pid)
        self._process.wait()
        self._process = None
        wait_for(lambda: not _listening(self.port), f"port {self.port} to close")

    def restart(self, down_s: float) -> None:
        """SIGKILL, ``down_s`` seconds with no server (this sleep IS the outage), start again
        on the same port."""
        self.kill()
        time.sleep(down_s)
        self.start()
        self.restarts += 1


class PrivateRedis(_PrivateServer):
    name = "redis-server"

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed (not on PATH)")
        self._binary = binary
        folder.mkdir(parents=True)
        super().__init__(folder, free_port())

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        return [
            self._binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.folder),
        ]


class PrivateRabbitMQ(_PrivateServer):
    name = "RabbitMQ node"

    def __init__(self, folder: Path) -> None:
        found = [path for path in _RABBITMQ_SCRIPTS if Path(path).exists()]
        script = found[0] if found else shutil.which("rabbitmq-server")
        if script is None:
            pytest.skip("rabbitmq-server is not installed (not on PATH)")
        self._script = script
        folder.mkdir(parents=True)
        super().__init__(folder, free_port())
        self.dist_port = free_port()
        self.node = f"hwtest{secrets.token_hex(4)}@localhost"
        home = folder / "home"
        home.mkdir()
        # Its own Erlang cookie: root's HOME has none, and the machine's node keeps its own
        # in the rabbitmq user's home, readable by that user only.
        cookie = home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16).upper())
        cookie.chmod(0o400)
        # Its own configuration: the machine's rabbitmq.conf names port 5672.
        (folder / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (folder / "enabled_plugins").write_text("[].\n")
        (folder / "rabbitmq-env.conf").write_text("")
        for name in ("mnesia", "logs"):
            (folder / name).mkdir()

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _command(self) -> list[str]:
        return [self._script]

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        return {
            **env,
            "HOME": str(self.folder / "home"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "logs"),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.folder / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.folder / "node.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
