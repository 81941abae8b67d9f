"""Users, roles, tokens and logins as the services do them (fake clock for expiry and
lockouts; real Argon2 hashes on a real database)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher, extract_parameters, profiles

from headwater.auth.passwords import verify_password
from headwater.clock import FakeClock
from headwater.operations.actors import acting_as
from headwater.services.context import ServiceContext
from headwater.services.errors import ConflictError, InvalidRequestError, NotFoundError
from headwater.services.sessions import (
    LoginFailedError,
    TooManyLoginsError,
    login,
    logout,
    principal_of_session,
)
from headwater.services.tokens import create_token, principal_of_token, revoke_token
from headwater.services.users import (
    create_role,
    create_user,
    delete_role,
    ensure_admin,
    list_users,
    principal_of,
    update_user,
)
from headwater.settings import Settings
from headwater.store.sql import SqlStore

PASSWORD = "correct horse"


@pytest.fixture
def ctx(sql_store: SqlStore, settings: Settings) -> ServiceContext:
    """A context on an empty database (accounts need no DAGs), on the test's fake clock."""
    return ServiceContext(settings, sql_store)


def test_ensure_admin_makes_one_admin_once(ctx: ServiceContext) -> None:
    password = ensure_admin(ctx)
    assert password is not None and len(password) >= 16
    [admin] = list_users(ctx)
    assert (admin.username, admin.role, admin.level) == ("admin", "admin", "admin")
    row = ctx.store.get_user("admin")
    assert row is not None and verify_password(row.password_hash, password).ok
    assert ensure_admin(ctx) is None
    assert login(ctx, "admin", password).principal.is_admin


@pytest.mark.real_password_cost
def test_a_hash_made_with_older_parameters_is_replaced_at_login(ctx: ServiceContext) -> None:
    create_user(ctx, "ann", PASSWORD, "viewer")
    made = ctx.store.get_user("ann")
    # argon2-cffi's recommended parameters: RFC 9106's second (low-memory) recommendation
    assert made is not None
    assert extract_parameters(made.password_hash) == profiles.RFC_9106_LOW_MEMORY
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024).hash(PASSWORD)
    ctx.store.update_user("ann", password_hash=old)
    login(ctx, "ann", PASSWORD)
    row = ctx.store.get_user("ann")
    assert row is not None and row.password_hash != old
    assert verify_password(row.password_hash, PASSWORD).ok
    assert verify_password(old, PASSWORD).needs_rehash
    assert not verify_password(row.password_hash, PASSWORD).needs_rehash


def test_failures_count_within_the_window_only(ctx: ServiceContext, clock: FakeClock) -> None:
    create_user(ctx, "ann", PASSWORD, "viewer")
    api = ctx.settings.api
    for _ in range(api.login_max_failures - 1):
        with pytest.raises(LoginFailedError):
            login(ctx, "ann", "wrong password", "10.0.0.1")
    # The window ends: the count starts again, so one more failure locks nothing.
    clock.advance(timedelta(seconds=api.login_lockout_s))
    with pytest.raises(LoginFailedError):
        login(ctx, "ann", "wrong password", "10.0.0.1")
    assert login(ctx, "ann", PASSWORD, "10.0.0.1").principal.username == "ann"


def test_a_success_clears_the_user_count_but_a_lockout_holds(
    ctx: ServiceContext, clock: FakeClock
) -> None:
    create_user(ctx, "ann", PASSWORD, "viewer")
    for _ in range(ctx.settings.api.login_max_failures):
        with pytest.raises(LoginFailedError):
            login(ctx, "ann", "wrong password", "10.0.0.2")
    with pytest.raises(TooManyLoginsError) as locked:
        login(ctx, "ann", PASSWORD, "10.0.0.3")  # another address: the name is locked
    assert locked.value.retry_after_s == int(ctx.settings.api.login_lockout_s)
    clock.advance(timedelta(seconds=ctx.settings.api.login_lockout_s))
    login(ctx, "ann", PASSWORD, "10.0.0.3")
    assert ctx.store.get_login_failure("user:ann") is None


def test_sessions_end_after_their_idle_lifetime(ctx: ServiceContext, clock: FakeClock) -> None:
    create_user(ctx, "ann", PASSWORD, "viewer")
    started = login(ctx, "ann", PASSWORD)
    found = principal_of_session(ctx, started.cookie)
    assert found is not None and found[1] == started.csrf_token
    clock.advance(timedelta(seconds=ctx.settings.api.session_lifetime_s))
    assert principal_of_session(ctx, started.cookie) is None
    again = login(ctx, "ann", PASSWORD)
    assert logout(ctx, again.cookie) and principal_of_session(ctx, again.cookie) is None


def test_tokens_follow_their_user(ctx: ServiceContext, clock: FakeClock) -> None:
    create_role(ctx, "team-a", "op", ["team-a", "team-a "])
    create_user(ctx, "tess", PASSWORD, "team-a")
    created = create_token(ctx, "tess", "ci")
    principal = principal_of_token(ctx, created.token)
    assert principal is not None and principal.dag_tags == frozenset({"team-a"})
    assert principal.via == "token"
    assert ctx.store.get_token(created.id).last_used_at == clock.now()  # type: ignore[union-attr]
    update_user(ctx, "tess", role="viewer")
    assert principal_of_token(ctx, created.token).level == "viewer"  # type: ignore[union-attr]
    revoke_token(ctx, created.id, owner="tess")
    assert principal_of_token(ctx, created.token) is None
    with pytest.raises(NotFoundError):
        revoke_token(ctx, created.id, owner="someone-else")


def test_roles_and_users_refuse_what_would_break_them(ctx: ServiceContext) -> None:
    with pytest.raises(InvalidRequestError, match="level 'admin' is not valid"):
        create_role(ctx, "boss", "admin")
    with pytest.raises(InvalidRequestError, match="dag_tags: a tag must not be empty"):
        create_role(ctx, "blank", "op", [" "])
    with pytest.raises(ConflictError, match="built in"):
        create_role(ctx, "viewer", "viewer")
    with pytest.raises(ConflictError, match="built in"):
        delete_role(ctx, "op")
    create_user(ctx, "root", PASSWORD, "admin")
    with pytest.raises(ConflictError, match="only enabled admin"):
        update_user(ctx, "root", role="op")
    with pytest.raises(ConflictError, match="only enabled admin"):
        update_user(ctx, "root", disabled=True)
    create_user(ctx, "second", PASSWORD, "admin")
    assert update_user(ctx, "root", role="op").level == "op"


def test_changes_are_logged_with_their_actor_and_no_secret(ctx: ServiceContext) -> None:
    with acting_as("root"):
        create_user(ctx, "ann", PASSWORD, "viewer")
        created = create_token(ctx, "ann", "ci")
    events = ctx.store.list_events()
    assert [(e.kind, e.actor) for e in events] == [
        ("create_user", "root"),
        ("create_token", "root"),
    ]
    assert all(
        PASSWORD not in (e.detail or "") and created.token not in (e.detail or "") for e in events
    )
    assert principal_of(ctx.store, "nobody", via="session") is None


def test_names_no_database_can_hold_answer_not_found_or_invalid(ctx: ServiceContext) -> None:
    # NUL (PostgreSQL refuses it in text) and lone surrogates (no UTF-8 form) never reach
    # the database: a lookup is not found, a login fails, a new value is refused.
    create_user(ctx, "ann", PASSWORD, "viewer")
    for strange in ("a\x00b", "\ud800"):
        with pytest.raises(NotFoundError):
            update_user(ctx, strange, role="op")
        with pytest.raises(NotFoundError):
            delete_role(ctx, strange)
        with pytest.raises(NotFoundError):
            revoke_token(ctx, strange)
        with pytest.raises(NotFoundError):
            create_token(ctx, strange, "ci")
        with pytest.raises(LoginFailedError):
            login(ctx, strange, PASSWORD, address=strange)
        with pytest.raises(LoginFailedError):
            login(ctx, "ann", f"{PASSWORD}{strange}")
        with pytest.raises(InvalidRequestError, match="password must not hold NUL"):
            create_user(ctx, "bob", f"{PASSWORD}{strange}", "viewer")
        with pytest.raises(InvalidRequestError, match="dag_tags"):
            create_role(ctx, "team", "op", [strange])
        assert principal_of(ctx.store, strange, via="token") is None
