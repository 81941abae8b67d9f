"""Logging in and out of the web UI: passwords checked, failed logins limited, sessions.

:func:`login` checks a user name and password and starts a session: a random id (the
cookie's value; only its SHA-256 hash is stored) and a CSRF token, which every write the
cookie authenticates must carry. A session ends ``api.session_lifetime_s`` after its last
use (:func:`principal_of_session` moves the end on), or at :func:`logout`.

Failed logins are limited per user name and per client address: after
``api.login_max_failures`` failures within ``api.login_lockout_s``, logins of that name (or
from that address) are refused for ``api.login_lockout_s``, right password or not
(:class:`TooManyLoginsError`). A failure never says whether the user exists, and takes as
long either way. Times come from ``ctx.now()`` (a fake clock in tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from headwater.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    burn_verify_time,
    hash_password,
    storable,
    verify_password,
)
from headwater.auth.principals import Principal
from headwater.auth.secrets import hash_secret, new_csrf_token, new_session_id
from headwater.db.rows import LoginFailureRow, SessionRow
from headwater.operations.errors import OperationError
from headwater.services.users import principal_of

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext

__all__ = [
    "LoginFailedError",
    "SessionStarted",
    "TooManyLoginsError",
    "login",
    "logout",
    "principal_of_session",
]


class LoginFailedError(OperationError):
    """Wrong user name or password (which of them is never said)."""

    def __init__(self) -> None:
        super().__init__("wrong username or password")


class TooManyLoginsError(OperationError):
    """Too many failed logins of this user name or from this address: wait."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after_s} second(s)")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class SessionStarted:
    """A new session: ``cookie`` goes to the browser (never stored), with the principal."""

    cookie: str
    csrf_token: str
    principal: Principal
    expires_at: datetime


def _keys(username: str, address: str | None) -> list[str]:
    """The failure counters a login counts against; ``ascii()`` keeps any name storable."""
    keys = [f"user:{ascii(username)[1:-1][:250]}"]
    if address:
        keys.append(f"address:{ascii(address)[1:-1][:250]}")
    return keys


def _locked_for(ctx: ServiceContext, keys: list[str], now: datetime) -> int:
    """Seconds until logins of ``keys`` are allowed again (0: they are)."""
    waits = [
        (row.locked_until - now).total_seconds()
        for key in keys
        if (row := ctx.store.get_login_failure(key)) is not None
        and row.locked_until is not None
        and row.locked_until > now
    ]
    return math.ceil(max(waits)) if waits else 0


def _record_failure(ctx: ServiceContext, keys: list[str], now: datetime) -> None:
    api = ctx.settings.api
    window = timedelta(seconds=api.login_lockout_s)
    with ctx.store.unit_of_work() as uow:
        for key in keys:
            row = uow.get_login_failure(key)
            if row is None or now - row.first_at >= window:
                row = LoginFailureRow(key, 0, now)
            row.count += 1
            if row.count >= api.login_max_failures:
                row.locked_until = now + window
            uow.set_login_failure(row)


def login(
    ctx: ServiceContext, username: str, password: str, address: str | None = None
) -> SessionStarted:
    """Check ``username`` and ``password`` (from client ``address``) and start a session.

    :class:`TooManyLoginsError` while the name or address is locked out;
    :class:`LoginFailedError` for a wrong name or password, or a disabled user.
    """
    now = ctx.now()
    keys = _keys(username, address)
    wait = _locked_for(ctx, keys, now)
    if wait:
        raise TooManyLoginsError(wait)
    store = ctx.store
    known = len(password) <= MAX_PASSWORD_LENGTH and storable(username)
    user = store.get_user(username) if known else None
    if user is None:
        burn_verify_time(password[:MAX_PASSWORD_LENGTH])
        verified = False
    else:
        checked = verify_password(user.password_hash, password)
        verified = checked.ok
        if checked.ok and checked.needs_rehash:
            store.update_user(username, password_hash=hash_password(password))
    principal = principal_of(store, username, via="session") if verified else None
    if principal is None:
        _record_failure(ctx, keys, now)
        raise LoginFailedError()
    session_id = new_session_id()
    expires_at = now + timedelta(seconds=ctx.settings.api.session_lifetime_s)
    csrf_token = new_csrf_token()
    with store.unit_of_work() as uow:
        uow.clear_login_failure(keys[0])
        uow.update_user(username, last_login_at=now)
        uow.add_session(SessionRow(session_id.hash, username, csrf_token, now, now, expires_at))
    return SessionStarted(session_id.secret, csrf_token, principal, expires_at)


def principal_of_session(ctx: ServiceContext, cookie: str) -> tuple[Principal, str] | None:
    """Who the session cookie ``cookie`` belongs to, with the session's CSRF token; None
    when there is no such session, it ended, or its user can no longer log in. Each use
    moves the session's end ``api.session_lifetime_s`` on."""
    store = ctx.store
    id_hash = hash_secret(cookie)
    session = store.get_session(id_hash)
    now = ctx.now()
    if session is None:
        return None
    if session.expires_at <= now:
        store.delete_session(id_hash)
        return None
    principal = principal_of(store, session.username, via="session")
    if principal is None:
        return None
    lifetime = timedelta(seconds=ctx.settings.api.session_lifetime_s)
    if now - session.last_seen_at >= timedelta(seconds=10):  # not one write per request
        store.touch_session(id_hash, now, now + lifetime)
    return principal, session.csrf_token


def logout(ctx: ServiceContext, cookie: str) -> bool:
    """End the session of ``cookie``; False if there was none."""
    return ctx.store.delete_session(hash_secret(cookie))
