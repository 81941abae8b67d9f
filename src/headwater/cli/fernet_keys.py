"""``headwater generate-fernet-key`` and ``headwater rotate-fernet-key``: the keys that
encrypt connection passwords, extras and variables in the metadata database."""

from __future__ import annotations

import click

from headwater.cli._common import console, emit_schema, handle_errors, output_option


@click.command("generate-fernet-key")
@handle_errors
def generate_fernet_key() -> None:
    """Print a new random Fernet key for the secrets.fernet_key setting.

    Keep it secret and keep it safe: without it, encrypted values cannot be read.

    \b
    Example:
        export HEADWATER__SECRETS__FERNET_KEY="$(headwater generate-fernet-key)"
    """
    from headwater.services.fernet_keys import generate_fernet_key as generate

    click.echo(generate())


@click.command("rotate-fernet-key")
@output_option
@handle_errors
def rotate_fernet_key(output: str) -> None:
    """Re-encrypt every encrypted connection password, extra and variable with the first
    key of secrets.fernet_key, in one transaction; print how many rows it rewrote.

    To change keys: put the new key first and the old one after it
    (HEADWATER__SECRETS__FERNET_KEY="new,old"), run this, then drop the old key. Values
    stored in clear (before any key was set) are left as they are.

    \b
    Example:
        HEADWATER__SECRETS__FERNET_KEY="$NEW,$OLD" headwater rotate-fernet-key
    """
    from headwater.services.context import open_context
    from headwater.services.fernet_keys import rotate_fernet_key as rotate

    with open_context() as ctx:
        rotated = rotate(ctx)
    if output == "json":
        emit_schema(rotated)
    else:
        console().print(
            f"Re-encrypted {rotated.rows} row(s) with the first key ({rotated.connections} "
            f"connection(s), {rotated.variables} variable(s))"
        )
