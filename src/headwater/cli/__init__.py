"""The ``headwater`` command. Subcommands are imported only when used, so ``--help`` is fast."""

from __future__ import annotations

import importlib
from typing import Any

import click

_GROUPS = {
    "airflow": (
        "headwater.cli.airflow",
        "airflow",
        "Moving from Airflow: check which DAG files run on headwater unchanged.",
    ),
    "assets": (
        "headwater.cli.assets",
        "assets",
        "Assets, their events, and events created by hand.",
    ),
    "dags": ("headwater.cli.dags", "dags", "List, test, trigger, pause and backfill DAGs."),
    "tasks": (
        "headwater.cli.tasks",
        "tasks",
        "List, test and clear tasks; read their logs, XComs and rendered fields.",
    ),
    "config": ("headwater.cli.config", "config", "Show the effective settings."),
    "celery": (
        "headwater.cli.celery",
        "celery",
        "Celery workers (executor 'celery') and their queues.",
    ),
    "db": ("headwater.cli.db", "db", "Create, check and reset the metadata database."),
    "pools": ("headwater.cli.pools", "pools", "Limits on concurrent task instances."),
    "jobs": ("headwater.cli.jobs", "jobs", "Schedulers, triggerers, workers: list, check alive."),
    "variables": ("headwater.cli.variables", "variables", "Values tasks read as var.value.*."),
    "connections": (
        "headwater.cli.connections",
        "connections",
        "Where and how tasks reach other systems.",
    ),
    "generate-fernet-key": (
        "headwater.cli.fernet_keys",
        "generate_fernet_key",
        "Print a new key for secrets.fernet_key.",
    ),
    "rotate-fernet-key": (
        "headwater.cli.fernet_keys",
        "rotate_fernet_key",
        "Re-encrypt stored secrets with the first key of secrets.fernet_key.",
    ),
    "scheduler": (
        "headwater.cli.services",
        "scheduler",
        "Run the scheduler (with the DAG processor and local workers).",
    ),
    "dag-processor": (
        "headwater.cli.services",
        "dag_processor",
        "Keep the database's DAGs in step with the DAG folder.",
    ),
    "api-server": (
        "headwater.cli.api_server",
        "api_server",
        "Serve the REST API and the web UI.",
    ),
    "triggerer": (
        "headwater.cli.triggerer",
        "triggerer",
        "Run the triggers of deferred tasks (the scheduler runs one too).",
    ),
    "users": ("headwater.cli.users", "users", "Users of the web UI and REST API."),
    "roles": ("headwater.cli.users", "roles", "Roles: levels, and limits to DAG tags."),
    "tokens": ("headwater.cli.tokens", "tokens", "Bearer tokens for the REST API."),
    "standalone": (
        "headwater.cli.services",
        "standalone",
        "Database, DAG processor, scheduler and workers in one command.",
    ),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_GROUPS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in _GROUPS:
            module, attribute, _ = _GROUPS[name]
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help text without importing the subcommand modules.
        rows = [(name, help_text) for name, (_, _, help_text) in sorted(_GROUPS.items())]
        rows += [(name, cmd.get_short_help_str()) for name, cmd in sorted(self.commands.items())]
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


@click.group("headwater", cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="headwater", prog_name="headwater")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """headwater: workflow orchestration as Python code.

    Write pipelines as DAGs of tasks in Python files, then list them with
    `headwater dags list` and run one now with `headwater dags test DAG_ID`.
    Settings come from $HEADWATER_HOME/headwater.toml and HEADWATER__SECTION__KEY
    environment variables.
    """
    from headwater.actors import acting_as
    from headwater.cli._common import cli_actor

    # What a command changes is logged in the event log as done by cli:<OS user>.
    ctx.with_resource(acting_as(cli_actor()))


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="headwater")
