"""``headwater celery``: Celery workers that run attempts for a scheduler whose executor is
``celery`` (docs/celery.md), and what the live workers and queues are doing."""

from __future__ import annotations

import dataclasses

import click

from headwater.cli._common import console, emit_json, handle_errors, output_option, table


@click.group()
def celery() -> None:
    """Celery workers (scheduler.executor = "celery") and their queues."""


def _queues(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [name.strip() for name in value.split(",")]
    if not all(names):
        raise click.BadParameter(f"{value!r} has an empty queue name (e.g. --queues a,b)")
    return names


@celery.command("worker")
@click.option(
    "--queues",
    "-q",
    callback=_queues,
    help="Comma-separated queues to take attempts from (default: celery.default_queue).",
)
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(1, 1024),
    default=None,
    help="Attempts run at once, each in a process (default: celery.worker_concurrency).",
)
@click.option(
    "--hostname",
    "-n",
    default=None,
    help="The worker's node name (default: headwater@<this host>); %h is the host name.",
)
@click.option("--quiet", is_flag=True, help="Log warnings and errors only.")
@handle_errors
def worker(
    queues: list[str] | None, concurrency: int | None, hostname: str | None, quiet: bool
) -> None:
    """Run a Celery worker in this process until Ctrl-C or SIGTERM.

    It takes attempts from the broker (celery.broker_url), runs each in a child process on
    this machine's settings (its own database URL and DAG files: messages carry no
    credentials), and leaves its result in celery.result_backend. Ctrl-C or SIGTERM stops
    it warmly: the attempts running finish first; a second one stops it at once.

    Example: headwater celery worker --queues default,gpu --concurrency 8
    """
    from headwater.celery_executor.workers import run_worker
    from headwater.cli.services import _start_reporting
    from headwater.settings import load_settings

    settings = load_settings()
    _start_reporting(settings, quiet, "worker")
    config = settings.celery
    if concurrency is not None:
        config = dataclasses.replace(config, worker_concurrency=concurrency)
    code = run_worker(
        config,
        queues=queues or [config.default_queue],
        concurrency=config.worker_concurrency,
        hostname=hostname,
        loglevel="WARNING" if quiet else "INFO",
    )
    if code:
        raise SystemExit(code)


@celery.command("status")
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 60.0),
    default=1.0,
    show_default=True,
    help="Seconds to wait for the workers' answers.",
)
@output_option
@handle_errors
def status(timeout: float, output: str) -> None:
    """List the live Celery workers with their queues and the attempts they run, and the
    messages waiting in each queue (where the broker tells).

    Example: headwater celery status --output json
    """
    from headwater.celery_executor.workers import workers_status
    from headwater.settings import load_settings

    workers, lengths = workers_status(load_settings().celery, timeout_s=timeout)
    if output == "json":
        emit_json(
            {
                "workers": [dataclasses.asdict(w) for w in workers],
                "queues": [dataclasses.asdict(q) for q in lengths],
            }
        )
        return
    out = console()
    rows = [
        (
            w.hostname,
            ", ".join(w.queues),
            "\n".join(
                f"{a['dag_id']}.{a['task_id']} {a['run_id']} try {a['try_number']}"
                for a in w.active
            ),
        )
        for w in workers
    ]
    out.print(table("Workers", ["worker", "queues", "running attempts"], rows))
    if not workers:
        out.print("No live worker answered.")
    waiting = [(q.queue, "?" if q.messages is None else q.messages) for q in lengths]
    out.print(table("Queues", ["queue", "waiting messages"], waiting))
