"""``headwater tokens``."""

from __future__ import annotations

import click


@click.group("tokens")
def tokens() -> None:
    """Bearer tokens for the REST API."""
