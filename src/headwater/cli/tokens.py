"""``headwater tokens``: bearer tokens for the REST API."""

from __future__ import annotations

import json

import click

from headwater.cli._common import console, emit_schema, handle_errors, output_option, table, when


@click.group("tokens")
def tokens() -> None:
    """Bearer tokens for the REST API."""


@tokens.command("create")
@click.option("--user", "username", required=True, help="Whose token it is.")
@click.option("--name", required=True, help="What the token is for (shown in lists).")
@click.option(
    "--expires-in-days",
    type=click.IntRange(1, 3650),
    default=None,
    help="Days until it stops working; default: until revoked.",
)
@output_option
@handle_errors
def create_token(username: str, name: str, expires_in_days: int | None, output: str) -> None:
    """Make an API token for USER and print it once: only its hash is kept.

    Scripts send it as the header `Authorization: Bearer <token>`.

    \b
    Example:
        headwater tokens create --user alice --name "nightly report" --expires-in-days 90
    """
    from headwater.services.context import open_context
    from headwater.services.tokens import create_token as create

    with open_context() as ctx:
        created = create(ctx, username, name, expires_in_days)
    if output == "json":
        # Not emit_schema: its redaction hides any value named "token", and this one is
        # the answer, shown once (as POST /api/v1/tokens answers it).
        click.echo(json.dumps(created.to_json(), indent=2))
        return
    out = console()
    out.print(f"Token {created.id} ({created.name}) for {created.username}:")
    click.echo(created.token)
    out.print("Copy it now: it is not shown again.")


@tokens.command("list")
@click.option("--user", "username", default=None, help="Only this user's tokens.")
@output_option
@handle_errors
def list_tokens(username: str | None, output: str) -> None:
    """List tokens (never the tokens themselves: their first characters).

    \b
    Example:
        headwater tokens list --user alice
    """
    from headwater.services.context import open_context
    from headwater.services.tokens import list_tokens as list_all

    with open_context() as ctx:
        found = list_all(ctx, username)
    if output == "json":
        emit_schema(found)
        return
    columns = ["id", "name", "user", "starts_with", "created", "last_used", "expires", "status"]
    rows = [
        [
            t.id,
            t.name,
            t.username,
            f"{t.prefix}…",
            when(t.created_at),
            when(t.last_used_at),
            when(t.expires_at) or "never",
            "revoked" if t.revoked_at else ("active" if t.active else "expired"),
        ]
        for t in found
    ]
    console().print(table(None, columns, rows))


@tokens.command("revoke")
@click.argument("token_id")
@output_option
@handle_errors
def revoke_token(token_id: str, output: str) -> None:
    """Revoke token TOKEN_ID (from `headwater tokens list`): it stops working at once.

    \b
    Example:
        headwater tokens revoke 3f9c0a1b2c3d4e5f
    """
    from headwater.services.context import open_context
    from headwater.services.tokens import revoke_token as revoke

    with open_context() as ctx:
        revoked = revoke(ctx, token_id)
    if output == "json":
        emit_schema(revoked)
    else:
        console().print(f"Revoked token {token_id}")
