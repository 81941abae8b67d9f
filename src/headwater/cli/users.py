"""``headwater users`` and ``headwater roles``."""

from __future__ import annotations

import click


@click.group("users")
def users() -> None:
    """Users of the web UI and REST API."""


@click.group("roles")
def roles() -> None:
    """Roles: levels, and limits to DAG tags."""
