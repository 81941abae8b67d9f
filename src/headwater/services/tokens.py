"""API tokens: bearer credentials for scripts, made by their user or an admin.

A token is shown once, when it is made (:class:`TokenCreated`); only its SHA-256 hash is
kept (:mod:`headwater.auth.secrets`). It works until it is revoked, it expires, or its user
is disabled or deleted. Example::

    created = create_token(ctx, "alice", "nightly report", expires_in_days=90)
    created.token        # 'hw_...' : give it to the script; it is never shown again
    revoke_token(ctx, created.id)
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from headwater.auth.passwords import storable
from headwater.auth.principals import Principal
from headwater.auth.secrets import TOKEN_PREFIX, hash_secret, new_token, new_token_id
from headwater.db.rows import TokenRow
from headwater.operations.admin import record_change
from headwater.operations.errors import InvalidRequestError, NotFoundError
from headwater.services._schema import IsoDatetime, Schema
from headwater.services.users import principal_of
from headwater.shown_text import quoted

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext

__all__ = [
    "MAX_EXPIRY_DAYS",
    "TokenCreated",
    "TokenOut",
    "TokenRevoked",
    "create_token",
    "list_tokens",
    "principal_of_token",
    "revoke_token",
]

MAX_EXPIRY_DAYS = 3650
MAX_NAME_LENGTH = 100


class TokenOut(Schema):
    """A token as listed: its id, name and first characters, never the token."""

    id: str
    name: str
    username: str
    prefix: str
    created_at: IsoDatetime
    last_used_at: IsoDatetime | None
    expires_at: IsoDatetime | None
    revoked_at: IsoDatetime | None
    active: bool
    """Neither revoked nor expired (now)."""


class TokenCreated(TokenOut):
    token: str
    """The token itself: shown this once, never stored."""


class TokenRevoked(Schema):
    id: str
    revoked: bool = True


def _out(row: TokenRow, ctx: ServiceContext) -> TokenOut:
    return TokenOut(
        id=row.id,
        name=row.name,
        username=row.username,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        active=row.revoked_at is None and (row.expires_at is None or row.expires_at > ctx.now()),
    )


def create_token(
    ctx: ServiceContext, username: str, name: str, expires_in_days: int | None = None
) -> TokenCreated:
    """A new token for user ``username``, called ``name`` (for people), valid for
    ``expires_in_days`` days (1 to 3650; None: until revoked)."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise InvalidRequestError(
            f"name: give the token a name of 1 to {MAX_NAME_LENGTH} characters"
        )
    if not name.isprintable():
        raise InvalidRequestError("name: must not hold control characters")
    if expires_in_days is not None and (
        isinstance(expires_in_days, bool) or not 1 <= expires_in_days <= MAX_EXPIRY_DAYS
    ):
        raise InvalidRequestError(
            f"expires_in_days must be 1 to {MAX_EXPIRY_DAYS}, not {expires_in_days!r}"
        )
    store = ctx.store
    if not storable(username) or store.get_user(username) is None:
        raise NotFoundError(f"no user {quoted(username)}")
    now = ctx.now()
    secret = new_token()
    row = TokenRow(
        id=new_token_id(),
        name=name.strip(),
        username=username,
        token_hash=secret.hash,
        prefix=secret.prefix,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    with store.unit_of_work() as uow:
        uow.add_token(row)
        record_change(uow, "create_token", f"token {row.id} ({row.name}) of user {username}")
    return TokenCreated(**_out(row, ctx).model_dump(), token=secret.secret)


def list_tokens(ctx: ServiceContext, username: str | None = None) -> list[TokenOut]:
    """Tokens of ``username`` (everyone's with None), oldest first."""
    if username is not None and not storable(username):
        return []
    return [_out(row, ctx) for row in ctx.store.list_tokens(username)]


def revoke_token(ctx: ServiceContext, token_id: str, *, owner: str | None = None) -> TokenRevoked:
    """Revoke token ``token_id`` at once. With ``owner``, only a token of that user (another
    user's answers not found, as a token that does not exist)."""
    store = ctx.store
    row = store.get_token(token_id) if storable(token_id) else None
    if row is None or (owner is not None and row.username != owner):
        raise NotFoundError(f"no token {quoted(token_id)}")
    if row.revoked_at is None:
        with store.unit_of_work() as uow:
            uow.update_token(token_id, revoked_at=ctx.now())
            record_change(
                uow, "revoke_token", f"token {row.id} ({row.name}) of user {row.username}"
            )
    return TokenRevoked(id=token_id)


def principal_of_token(ctx: ServiceContext, secret: str) -> Principal | None:
    """Who ``secret`` (an ``hw_...`` token) authenticates, or None: unknown, revoked,
    expired, or its user disabled or gone. Records when the token was last used."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    store = ctx.store
    row = store.find_token(hash_secret(secret))
    now = ctx.now()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    principal = principal_of(store, row.username, via="token")
    if principal is not None and (
        row.last_used_at is None or now - row.last_used_at >= timedelta(minutes=1)
    ):
        store.update_token(row.id, last_used_at=now)  # once a minute at most: no write per call
    return principal
