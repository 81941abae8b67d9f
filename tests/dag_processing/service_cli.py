"""Invoking the service commands (``dag-processor``, ``scheduler``) in tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from click.testing import CliRunner, Result

from headwater.cli import cli


@contextmanager
def root_logging_kept() -> Iterator[None]:
    """Service commands set up the root logger (replacing pytest's handlers): undo that."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def invoke(*args: str) -> Result:
    with root_logging_kept():
        return CliRunner().invoke(cli, list(args))
