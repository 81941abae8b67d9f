"""BashSensor: waits until a shell command exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

from headwater.exceptions import HeadwaterError
from headwater.sensors.base import BaseSensorOperator


class BashSensorError(HeadwaterError):
    """The command exited with a code that is neither 0 nor ``retry_exit_code``."""


class BashSensor(BaseSensorOperator):
    """Runs ``bash_command`` with bash at each poke, in a fresh temporary folder: exit code 0
    ends the wait. Any other code pokes again later; with ``retry_exit_code`` set, only that
    code pokes again and any other fails the task (as Airflow's BashSensor).

    ``env`` replaces the environment when given (templated, like ``bash_command``). Example::

        BashSensor(task_id="wait_for_flag", bash_command="test -e /data/ready.flag",
                   poke_interval=30, timeout=3600)
    """

    template_fields: Sequence[str] = ("bash_command", "env")
    ui_color = "#f0ede4"

    def __init__(
        self,
        *,
        bash_command: str,
        env: Mapping[str, str] | None = None,
        output_encoding: str = "utf-8",
        retry_exit_code: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bash_command = bash_command
        self.env = dict(env) if env is not None else None
        self.output_encoding = output_encoding
        self.retry_exit_code = retry_exit_code

    def poke(self, context: dict[str, Any]) -> bool:
        log = context["ti"].log
        log.info("Running command: %s", self.bash_command)
        env = {k: str(v) for k, v in self.env.items()} if self.env is not None else None
        with (
            tempfile.TemporaryDirectory(prefix="headwater-bash-sensor-") as folder,
            subprocess.Popen(
                ["bash", "-c", self.bash_command],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=folder,
                env=env,
                start_new_session=True,  # its own group: a timeout kills what it started
            ) as process,
        ):
            try:
                assert process.stdout is not None
                for raw in process.stdout:
                    log.info("%s", raw.decode(self.output_encoding, errors="replace").rstrip())
                code = process.wait()
            except BaseException:
                os.killpg(process.pid, signal.SIGKILL)
                raise
        log.info("Command exited with return code %d", code)
        if code == 0:
            return True
        if self.retry_exit_code is not None and code != self.retry_exit_code:
            raise BashSensorError(
                f"task {self.task_id!r}: bash command exited with code {code} "
                f"(only {self.retry_exit_code} means 'not yet')"
            )
        return False
