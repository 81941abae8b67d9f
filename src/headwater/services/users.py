"""Users and roles: who may use the REST API and the web UI, and at what level.

A user has a password (stored as an Argon2id hash) and one role. The built-in roles
``admin``, ``op`` and ``viewer`` always exist and see every DAG; an admin may add roles of
level ``viewer`` or ``op`` limited to DAGs carrying given tags
(:mod:`headwater.auth.principals` decides what each may do). Every change is logged in the
event log with who made it. Example::

    create_role(ctx, "team-a", level="op", dag_tags=["team-a"])
    create_user(ctx, "alice", password="correct horse", role="team-a")

The CLI (``headwater users``, ``headwater roles``) and the REST API (``/api/v1/users``,
``/api/v1/roles``) call these; nothing here returns a hash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from headwater.auth.passwords import hash_password, password_problem, storable
from headwater.auth.principals import BUILT_IN_ROLES, Level, Principal
from headwater.db.rows import RoleRow, UserRow
from headwater.operations._stored import require_name
from headwater.operations.admin import record_change
from headwater.operations.errors import ConflictError, InvalidRequestError, NotFoundError
from headwater.services._schema import IsoDatetime, Schema
from headwater.shown_text import quoted

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext
    from headwater.store.ports import Store

__all__ = [
    "ADMIN_USERNAME",
    "RoleDeleted",
    "RoleOut",
    "UserDeleted",
    "UserOut",
    "create_role",
    "create_user",
    "delete_role",
    "delete_user",
    "ensure_admin",
    "get_user",
    "list_roles",
    "list_users",
    "principal_of",
    "reset_password",
    "update_user",
]

ADMIN_USERNAME = "admin"
"""The user :func:`ensure_admin` creates on an installation without users."""

RoleLevel = Literal["viewer", "op"]
"""The levels a role made by an admin may have (only the built-in ``admin`` is admin)."""


class UserOut(Schema):
    """A user as shown: never their password or its hash."""

    username: str
    role: str
    level: Level | None
    """The role's level; None when the role no longer exists (the user can do nothing)."""
    dag_tags: list[str] | None
    """The tags the role is limited to; None: every DAG."""
    created_at: IsoDatetime
    last_login_at: IsoDatetime | None
    disabled: bool


class UserDeleted(Schema):
    username: str
    deleted: bool = True


class RoleOut(Schema):
    name: str
    level: Level
    dag_tags: list[str] | None
    """The tags a DAG needs one of for this role to see it; None: every DAG."""
    built_in: bool
    users: int
    """How many users have it."""


class RoleDeleted(Schema):
    name: str
    deleted: bool = True


# -- roles ---------------------------------------------------------------------------------------


def _role_access(store: Store, role: str) -> tuple[Level, frozenset[str] | None] | None:
    """The level and tag limit of ``role``; None for a role that does not exist."""
    if role in BUILT_IN_ROLES:
        return BUILT_IN_ROLES[role], None
    row = store.get_role(role) if storable(role) else None
    if row is None or row.level not in ("viewer", "op"):
        return None
    level: Level = "op" if row.level == "op" else "viewer"
    return level, frozenset(row.dag_tags)


def _require_role(store: Store, role: str) -> None:
    if _role_access(store, role) is None:
        names = [*BUILT_IN_ROLES, *(r.name for r in store.list_roles())]
        raise InvalidRequestError(
            f"role {quoted(role)} does not exist; choose one of {', '.join(sorted(names))}"
        )


def create_role(
    ctx: ServiceContext, name: str, level: str, dag_tags: list[str] | None = None
) -> RoleOut:
    """Add role ``name`` of ``level`` (``viewer`` or ``op``), limited to DAGs carrying one of
    ``dag_tags`` (none: every DAG). Invalid: a bad name or level, a blank tag; conflict: the
    name is taken (the built-in names are)."""
    require_name(name, "role name")
    if level not in ("viewer", "op"):
        raise InvalidRequestError(
            f"level {quoted(level)} is not valid for a role: use viewer or op "
            "(only the built-in admin role has the admin level)"
        )
    given = list(dag_tags or ())
    if any(not isinstance(tag, str) or not tag.strip() for tag in given):
        raise InvalidRequestError("dag_tags: a tag must not be empty")
    if any(not tag.isprintable() or len(tag) > 250 for tag in given):
        raise InvalidRequestError(
            "dag_tags: a tag must be at most 250 characters, none of them control characters"
        )
    tags = sorted({tag.strip() for tag in given})
    if name in BUILT_IN_ROLES:
        raise ConflictError(f"role {quoted(name)} is built in; choose another name")
    store = ctx.store
    with store.unit_of_work() as uow:
        if not uow.add_role(RoleRow(name, level, tags)):
            raise ConflictError(f"role {quoted(name)} already exists")
        limit = f" dag_tags={','.join(tags)}" if tags else ""
        record_change(uow, "create_role", f"role {name} level={level}{limit}")
    return _role_out(store, RoleRow(name, level, tags))


def _role_out(store: Store, row: RoleRow, users: list[UserRow] | None = None) -> RoleOut:
    users = users if users is not None else store.list_users()
    access = _role_access(store, row.name)
    level: Level = access[0] if access is not None else "viewer"
    return RoleOut(
        name=row.name,
        level=level,
        dag_tags=list(row.dag_tags) if row.dag_tags else None,
        built_in=row.name in BUILT_IN_ROLES,
        users=sum(1 for user in users if user.role == row.name),
    )


def list_roles(ctx: ServiceContext) -> list[RoleOut]:
    """The built-in roles (admin, op, viewer), then those made by admins, by name."""
    store = ctx.store
    users = store.list_users()
    rows = [RoleRow(name, level) for name, level in BUILT_IN_ROLES.items()]
    rows += store.list_roles()
    return [_role_out(store, row, users) for row in rows]


def delete_role(ctx: ServiceContext, name: str) -> RoleDeleted:
    """Delete role ``name``. Conflict: a built-in role, or one a user has (give them
    another first); not found: no such role."""
    if name in BUILT_IN_ROLES:
        raise ConflictError(f"role {quoted(name)} is built in and cannot be deleted")
    store = ctx.store
    if not storable(name):
        raise NotFoundError(f"no role {quoted(name)}")
    with store.unit_of_work() as uow:
        holders = [user.username for user in uow.list_users() if user.role == name]
        if holders:
            raise ConflictError(
                f"role {quoted(name)} is in use by {', '.join(holders)}; give them another "
                "role first"
            )
        if not uow.delete_role(name):
            raise NotFoundError(f"no role {quoted(name)}")
        record_change(uow, "delete_role", f"role {name}")
    return RoleDeleted(name=name)


# -- users ---------------------------------------------------------------------------------------


def _user_out(store: Store, row: UserRow) -> UserOut:
    access = _role_access(store, row.role)
    return UserOut(
        username=row.username,
        role=row.role,
        level=access[0] if access is not None else None,
        dag_tags=sorted(access[1]) if access is not None and access[1] is not None else None,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
        disabled=row.disabled,
    )


def _require_password(password: str) -> str:
    problem = password_problem(password) if isinstance(password, str) else "must be text"
    if problem is not None:
        raise InvalidRequestError(f"password {problem}")
    return password


def _require_user(store: Store, username: str) -> UserRow:
    row = store.get_user(username) if storable(username) else None
    if row is None:
        raise NotFoundError(f"no user {quoted(username)}")
    return row


def create_user(ctx: ServiceContext, username: str, password: str, role: str) -> UserOut:
    """Add user ``username`` with ``password`` (8 characters or more) and ``role``.
    Invalid: a bad name, a short password, an unknown role; conflict: the name is taken."""
    require_name(username, "username")
    _require_password(password)
    store = ctx.store
    _require_role(store, role)
    row = UserRow(username, hash_password(password), role, created_at=ctx.now())
    with store.unit_of_work() as uow:
        if not uow.add_user(row):
            raise ConflictError(f"user {quoted(username)} already exists")
        record_change(uow, "create_user", f"user {username} role={role}")
    return _user_out(store, row)


def list_users(ctx: ServiceContext) -> list[UserOut]:
    """Every user, by name."""
    return [_user_out(ctx.store, row) for row in ctx.store.list_users()]


def get_user(ctx: ServiceContext, username: str) -> UserOut:
    return _user_out(ctx.store, _require_user(ctx.store, username))


def _other_admins(store: Store, username: str) -> int:
    return sum(
        1
        for user in store.list_users()
        if user.username != username and user.role == "admin" and not user.disabled
    )


def update_user(
    ctx: ServiceContext, username: str, *, role: str | None = None, disabled: bool | None = None
) -> UserOut:
    """Give user ``username`` another role, or disable (enable) them; a disabled user can
    neither log in nor use their tokens. Conflict: it would leave no enabled admin."""
    store = ctx.store
    user = _require_user(store, username)
    if role is not None:
        _require_role(store, role)
    still_admin = (role or user.role) == "admin" and not (
        disabled if disabled is not None else user.disabled
    )
    with store.unit_of_work() as uow:
        if user.role == "admin" and not still_admin and not _other_admins(uow, username):
            raise ConflictError(
                f"user {quoted(username)} is the only enabled admin; make another admin first"
            )
        uow.update_user(username, role=role, disabled=disabled)
        if disabled:
            uow.delete_sessions(username)
        changes = [f"role={role}"] if role is not None else []
        changes += [f"disabled={str(disabled).lower()}"] if disabled is not None else []
        record_change(uow, "update_user", f"user {username} {' '.join(changes)}".strip())
    return get_user(ctx, username)


def delete_user(ctx: ServiceContext, username: str) -> UserDeleted:
    """Delete user ``username`` with their tokens and sessions. Conflict: the only enabled
    admin (make another admin first)."""
    store = ctx.store
    user = _require_user(store, username)
    with store.unit_of_work() as uow:
        if user.role == "admin" and not user.disabled and not _other_admins(uow, username):
            raise ConflictError(
                f"user {quoted(username)} is the only enabled admin; make another admin first"
            )
        uow.delete_user(username)
        record_change(uow, "delete_user", f"user {username}")
    return UserDeleted(username=username)


def reset_password(ctx: ServiceContext, username: str, password: str) -> UserOut:
    """Give user ``username`` a new password; their sessions end (tokens stay valid)."""
    store = ctx.store
    _require_user(store, username)
    _require_password(password)
    new_hash = hash_password(password)
    with store.unit_of_work() as uow:
        uow.update_user(username, password_hash=new_hash)
        uow.delete_sessions(username)
        record_change(uow, "reset_password", f"user {username}")
    return get_user(ctx, username)


def ensure_admin(ctx: ServiceContext) -> str | None:
    """On an installation without users, create ``admin`` (role admin) with a random
    password and return the password, to be printed once; None when users exist."""
    from headwater.auth.secrets import new_password

    if ctx.store.list_users():
        return None
    password = new_password()
    try:
        create_user(ctx, ADMIN_USERNAME, password, "admin")
    except ConflictError:  # created meanwhile by another process
        return None
    return password


def principal_of(store: Store, username: str, via: Literal["session", "token"]) -> Principal | None:
    """What user ``username`` may do now, or None for a user who is gone, disabled or whose
    role is gone: read at each request, so a new role or a disabled account counts at once."""
    user = store.get_user(username) if storable(username) else None
    if user is None or user.disabled:
        return None
    access = _role_access(store, user.role)
    if access is None:
        return None
    level, tags = access
    return Principal(user.username, role=user.role, level=level, dag_tags=tags, via=via)
