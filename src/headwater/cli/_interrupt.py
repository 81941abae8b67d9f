"""SIGTERM stops ``dags test`` and ``tasks test`` as Ctrl-C does.

Both run tasks in this process. Ctrl-C raises KeyboardInterrupt inside the running task, and
the task's own clean-up runs as it unwinds (``BashOperator`` kills its command's process
group). SIGTERM's default action ended the process at once instead, and left that command
running, orphaned. Here SIGTERM raises KeyboardInterrupt too, and either signal ends the
command with one line and the shell's code for it (128 + the signal's number).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import click


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """Within this block SIGTERM unwinds as Ctrl-C does; either ends the command cleanly."""
    received: list[int] = []

    def on_sigterm(signum: int, frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    except KeyboardInterrupt:
        signum = received[0] if received else int(signal.SIGINT)
        name = signal.Signals(signum).name
        click.echo(
            f"Error: stopped by {name} before the run finished; the running task was stopped",
            err=True,
        )
        raise SystemExit(128 + signum) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
