"""``--conn ID=URI`` and ``--var KEY=VALUE`` of ``dags test`` and ``tasks test``: connections
and variables for one test run, looked up before every secrets backend and database."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from headwater.secrets import SecretsBackend

F = TypeVar("F", bound=Callable[..., Any])

GIVEN = "--conn/--var options"


def given_secrets_options(fn: F) -> F:
    """Add the repeatable ``--conn`` and ``--var`` options to a test command."""
    fn = click.option(
        "--var",
        "variables",
        multiple=True,
        metavar="KEY=VALUE",
        help="A variable for this run only, before any other source; repeatable.",
    )(fn)
    return click.option(
        "--conn",
        "connections",
        multiple=True,
        metavar="ID=URI",
        help="A connection for this run only (a URI or a JSON object), before any other "
        "source; repeatable. E.g. --conn warehouse=postgresql://ann:pw@db:5432/sales",
    )(fn)


def parse_pairs(values: tuple[str, ...], option: str, example: str) -> dict[str, str]:
    """``("a=1", "b=x=y")`` -> ``{"a": "1", "b": "x=y"}``; a value without ``=``, an empty
    name or a name given twice is an error that names the option, not the value (which may
    hold a password)."""
    pairs: dict[str, str] = {}
    for number, text in enumerate(values, start=1):
        name, equals, value = text.partition("=")
        name = name.strip()
        if not equals or not name:
            raise click.BadParameter(
                f"value number {number} is not NAME=VALUE (e.g. {example})",
                param_hint=f"'{option}'",
            )
        if name in pairs:
            raise click.BadParameter(f"{name!r} is given twice", param_hint=f"'{option}'")
        pairs[name] = value
    return pairs


def given_backends(
    connections: tuple[str, ...], variables: tuple[str, ...]
) -> list[SecretsBackend]:
    """The backend holding what ``--conn`` and ``--var`` give (none when neither is used)."""
    from headwater.secrets import MappingBackend

    conns = parse_pairs(connections, "--conn", "warehouse=postgresql://db:5432/sales")
    values = parse_pairs(variables, "--var", "region=eu")
    if not conns and not values:
        return []
    return [MappingBackend(conns, values, name=GIVEN)]
