"""``headwater users`` and ``headwater roles``: who may use the web UI and REST API."""

from __future__ import annotations

import click

from headwater.cli._common import console, emit_schema, handle_errors, output_option, table, when


@click.group("users")
def users() -> None:
    """Users of the web UI and REST API."""


@click.group("roles")
def roles() -> None:
    """Roles: levels, and limits to DAG tags."""


def _read_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or typed twice (not echoed)."""
    if from_stdin:
        import sys

        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt(
        "Password", hide_input=True, confirmation_prompt="Repeat the password", err=True
    )
    return password


password_stdin_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of stdin (for scripts) instead of asking.",
)


@users.command("create")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    help="admin, op, viewer, or a role made with `headwater roles create`.",
)
@password_stdin_option
@output_option
@handle_errors
def create_user(username: str, role: str, password_stdin: bool, output: str) -> None:
    """Add user USERNAME with ROLE; the password (8 characters or more) is asked twice.

    \b
    Example:
        headwater users create alice --role op
        printf '%s\\n' "$PASSWORD" | headwater users create ci --role viewer --password-stdin
    """
    from headwater.services.context import open_context
    from headwater.services.users import create_user as create

    password = _read_password(password_stdin)
    with open_context() as ctx:
        user = create(ctx, username, password, role)
    if output == "json":
        emit_schema(user)
    else:
        console().print(f"Created user {user.username} with role {user.role}")


@users.command("list")
@output_option
@handle_errors
def list_users(output: str) -> None:
    """List users with their roles, levels and last logins.

    \b
    Example:
        headwater users list -o json
    """
    from headwater.services.context import open_context
    from headwater.services.users import list_users as list_all

    with open_context() as ctx:
        found = list_all(ctx)
    if output == "json":
        emit_schema(found)
        return
    columns = ["username", "role", "level", "dag_tags", "last_login_at", "disabled"]
    rows = [
        [
            u.username,
            u.role,
            u.level or "(role missing)",
            ", ".join(u.dag_tags) if u.dag_tags is not None else "all",
            when(u.last_login_at),
            "yes" if u.disabled else "",
        ]
        for u in found
    ]
    console().print(table(None, columns, rows))


@users.command("delete")
@click.argument("username")
@output_option
@handle_errors
def delete_user(username: str, output: str) -> None:
    """Delete user USERNAME with their API tokens and sessions (the only admin stays).

    \b
    Example:
        headwater users delete alice
    """
    from headwater.services.context import open_context
    from headwater.services.users import delete_user as delete

    with open_context() as ctx:
        deleted = delete(ctx, username)
    if output == "json":
        emit_schema(deleted)
    else:
        console().print(f"Deleted user {username}")


@users.command("reset-password")
@click.argument("username")
@password_stdin_option
@output_option
@handle_errors
def reset_password(username: str, password_stdin: bool, output: str) -> None:
    """Give USERNAME a new password (asked twice); their logins in browsers end.

    \b
    Example:
        headwater users reset-password alice
    """
    from headwater.services.context import open_context
    from headwater.services.users import reset_password as reset

    password = _read_password(password_stdin)
    with open_context() as ctx:
        user = reset(ctx, username, password)
    if output == "json":
        emit_schema(user)
    else:
        console().print(f"New password set for {user.username}")


@roles.command("create")
@click.argument("name")
@click.option(
    "--level",
    type=click.Choice(["viewer", "op"]),
    required=True,
    help="viewer reads; op also triggers, clears, marks, pauses and backfills.",
)
@click.option(
    "--dag-tag",
    "dag_tags",
    multiple=True,
    help="Limit the role to DAGs carrying this tag (repeatable); default: every DAG.",
)
@output_option
@handle_errors
def create_role(name: str, level: str, dag_tags: tuple[str, ...], output: str) -> None:
    """Add role NAME of LEVEL, optionally limited to DAGs with given tags.

    A role limited to tags sees and operates only those DAGs, in the UI and the API alike,
    and cannot change pools, variables or connections.

    \b
    Example:
        headwater roles create team-a --level op --dag-tag team-a --dag-tag shared
    """
    from headwater.services.context import open_context
    from headwater.services.users import create_role as create

    with open_context() as ctx:
        role = create(ctx, name, level, list(dag_tags))
    if output == "json":
        emit_schema(role)
    else:
        limit = f" on DAGs tagged {', '.join(role.dag_tags)}" if role.dag_tags else ""
        console().print(f"Created role {role.name} ({role.level}{limit})")


@roles.command("list")
@output_option
@handle_errors
def list_roles(output: str) -> None:
    """List the built-in roles and those made with `headwater roles create`.

    \b
    Example:
        headwater roles list
    """
    from headwater.services.context import open_context
    from headwater.services.users import list_roles as list_all

    with open_context() as ctx:
        found = list_all(ctx)
    if output == "json":
        emit_schema(found)
        return
    columns = ["name", "level", "dag_tags", "users", "built_in"]
    rows = [
        [
            r.name,
            r.level,
            ", ".join(r.dag_tags) if r.dag_tags else "all",
            r.users,
            "yes" if r.built_in else "",
        ]
        for r in found
    ]
    console().print(table(None, columns, rows))


@roles.command("delete")
@click.argument("name")
@output_option
@handle_errors
def delete_role(name: str, output: str) -> None:
    """Delete role NAME; built-in roles and roles users have cannot be deleted.

    \b
    Example:
        headwater roles delete team-a
    """
    from headwater.services.context import open_context
    from headwater.services.users import delete_role as delete

    with open_context() as ctx:
        deleted = delete(ctx, name)
    if output == "json":
        emit_schema(deleted)
    else:
        console().print(f"Deleted role {name}")
