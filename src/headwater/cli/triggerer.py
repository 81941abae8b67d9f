"""``headwater triggerer``: run the triggers of deferred tasks, on its own.

``headwater scheduler`` and ``standalone`` run a triggerer already (``--no-triggerer`` turns
it off); run this command when triggers should run elsewhere, or more of them than one
process holds (each triggerer claims up to ``triggerer.capacity``; several share the work).
"""

from __future__ import annotations

import dataclasses

import click

from headwater.cli._common import handle_errors
from headwater.cli.services import _start_reporting, _stop_on_signals


@click.command("triggerer")
@click.option(
    "--capacity",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Most triggers run at once (default: the setting triggerer.capacity, 1000).",
)
@click.option("--quiet", is_flag=True, help="Log warnings and errors only.")
@handle_errors
def triggerer(capacity: int | None, quiet: bool) -> None:
    """Run the triggers of deferred tasks until Ctrl-C: claim waiting triggers, run them
    on one asyncio event loop, and fire each once when its condition holds, so that the
    scheduler resumes its task.

    Ctrl-C or SIGTERM stops it cleanly: the triggers stop and are released, and another
    triggerer takes them over at once. One killed takes its triggers with it until its
    leases run out (triggerer.lease_s); then another takes them over: none is lost, none
    fires twice. The database must be migrated (`headwater db migrate`).

    Example: headwater triggerer --capacity 5000
    """
    from headwater.settings import load_settings
    from headwater.triggerer.service import build_triggerer

    with _stop_on_signals() as stop:
        settings = load_settings()
        _start_reporting(settings, quiet, "triggerer")
        if capacity is not None:
            settings = dataclasses.replace(
                settings, triggerer=dataclasses.replace(settings.triggerer, capacity=capacity)
            )
        runner = build_triggerer(settings)
        try:
            runner.run(stop)
        finally:
            runner.store.close()
