"""BashOperator: run a shell command; exit 0 succeeds, 99 skips, anything else fails."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from headwater.authoring.operator import BaseOperator
from headwater.exceptions import DagDefinitionError, HeadwaterError, TaskSkipped


class BashCommandError(HeadwaterError):
    """The bash command exited with a code that fails the task."""


class BashOperator(BaseOperator):
    """Run ``bash_command`` with bash; its last line of output becomes the XCom.

    ``bash_command`` is a template; a value ending in ``.sh`` is read from a file next to the
    DAG file and rendered. ``env`` replaces the environment unless ``append_env=True``.
    ``output_processor`` turns the last line into the value pushed (as Airflow's), e.g.
    ``BashOperator(task_id="size", bash_command="du -s . | cut -f1", output_processor=int)``.
    """

    template_fields: Sequence[str] = ("bash_command", "env", "cwd")
    template_ext: Sequence[str] = (".sh", ".bash")
    ui_color = "#f0ede4"

    def __init__(
        self,
        *,
        bash_command: str,
        env: Mapping[str, str] | None = None,
        append_env: bool = False,
        cwd: str | None = None,
        output_encoding: str = "utf-8",
        skip_on_exit_code: int | tuple[int, ...] | None = 99,
        output_processor: Callable[[str], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if output_processor is not None and not callable(output_processor):
            raise DagDefinitionError(
                f"task {self.task_id!r}: output_processor must be a function of the output "
                f"text, got {output_processor!r:.80}"
            )
        self.output_processor = output_processor
        self.bash_command = bash_command
        self.env = dict(env) if env is not None else None
        self.append_env = append_env
        self.cwd = cwd
        self.output_encoding = output_encoding
        if skip_on_exit_code is None:
            self.skip_on_exit_code: tuple[int, ...] = ()
        elif isinstance(skip_on_exit_code, int):
            self.skip_on_exit_code = (skip_on_exit_code,)
        else:
            self.skip_on_exit_code = tuple(skip_on_exit_code)

    def _environment(self, context: dict[str, Any]) -> dict[str, str]:
        if self.env is None:
            env = dict(os.environ)
        elif self.append_env:
            env = {**os.environ, **self.env}
        else:
            env = dict(self.env)
        ti = context["ti"]
        env.update(
            {
                "HEADWATER_CTX_DAG_ID": ti.dag_id,
                "HEADWATER_CTX_TASK_ID": ti.task_id,
                "HEADWATER_CTX_RUN_ID": ti.run_id,
                "HEADWATER_CTX_TRY_NUMBER": str(ti.try_number),
                "HEADWATER_CTX_LOGICAL_DATE": context["logical_date"].isoformat(),
            }
        )
        return {k: str(v) for k, v in env.items()}

    def execute(self, context: dict[str, Any]) -> Any:
        log = context["ti"].log
        if self.cwd is not None and not os.path.isdir(self.cwd):
            raise BashCommandError(f"cwd {self.cwd!r} does not exist or is not a folder")
        log.info("Running command: %s", self.bash_command)
        last_line: str | None = None
        with subprocess.Popen(
            ["bash", "-c", _HOLDER, "headwater-bash", self.bash_command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
            env=self._environment(context),
            start_new_session=True,  # its own process group, so a timeout kills the whole tree
            preexec_fn=_die_with_this_process(),  # one prepared C call in the child
        ) as process:
            try:
                assert process.stdout is not None
                for raw in process.stdout:
                    line = raw.decode(self.output_encoding, errors="replace").rstrip("\n")
                    last_line = line
                    log.info("%s", line)
                code = process.wait()
            except BaseException:
                _kill_group(process)
                raise
        log.info("Command exited with return code %d", code)
        if code in self.skip_on_exit_code:
            raise TaskSkipped(f"bash command exited with code {code}: skipping")
        if code != 0:
            raise BashCommandError(f"bash command failed: exit code {code}")
        if self.output_processor is not None:
            # Airflow hands the processor the same text it would push: the last line, or "".
            return self.output_processor(last_line or "")
        return last_line


_HOLDER = 'trap "kill -KILL 0" TERM; bash -c "$1" & wait $!'
"""The bash that holds the command: it runs the command (``$1``) in the process group of its
own session and waits for it; a SIGTERM (its parent-death signal) kills the whole group.
``wait`` returns the command's exit status, or is cut short by the trap: a foreground command
would hold the trap back until it ended."""


def _die_with_this_process() -> Callable[[], None] | None:
    """What the command's holder runs before bash starts (Linux): ask the kernel for a
    SIGTERM when this process dies, so that a worker killed with SIGKILL (or by the OOM
    killer) takes its command with it instead of leaving it running beside the next try.
    Prepared here, so the forked child only makes one C call (no import, no lock)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # this process died before the signal was armed
            os.kill(os.getpid(), signal.SIGKILL)

    return arm


_PR_SET_PDEATHSIG = 1


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
