"""The SQL store's accounts: users, roles, API tokens, sessions and failed logins.

A user's tokens and sessions go with the user (``ON DELETE CASCADE``). Nothing here is hot:
one request reads a session or token and touches it, so the statements are built per call,
except the insert-if-absent and upsert statements, built once per dialect.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.sql.dml import Insert

from headwater.db import dialect
from headwater.db.convert import API_TOKENS, LOGIN_FAILURES, ROLES, SESSIONS, USERS
from headwater.db.rows import LoginFailureRow, RoleRow, SessionRow, TokenRow, UserRow
from headwater.store.sql.core import SqlCore


@cache
def _insert_if_absent(dialect_name: str, table: Table) -> Insert:
    return dialect.insert_if_absent(dialect_name, table)


@cache
def _upsert(dialect_name: str, table: Table) -> Insert:
    return dialect.upsert(dialect_name, table)


def _given(**values: Any) -> dict[str, Any]:
    """The values that are not None (None keeps a column as stored)."""
    return {name: value for name, value in values.items() if value is not None}


class SqlUsers(SqlCore):
    """Users, roles, tokens, sessions and failed logins on SQL."""

    def _add(self, table: Table, values: dict[str, Any]) -> bool:
        stmt = _insert_if_absent(self.engine.dialect.name, table)
        with self._write() as conn:
            return conn.execute(stmt, values).first() is not None

    def _change(self, table: Table, where: Any, values: dict[str, Any]) -> bool:
        with self._write() as conn:
            if not values:
                return conn.execute(select(table).where(where)).first() is not None
            return bool(conn.execute(update(table).where(where).values(**values)).rowcount)

    def _delete(self, table: Table, where: Any) -> int:
        with self._write() as conn:
            return int(conn.execute(delete(table).where(where)).rowcount)

    # -- users ---------------------------------------------------------------------------------

    def add_user(self, user: UserRow) -> bool:
        return self._add(USERS, vars(user).copy())

    def get_user(self, username: str) -> UserRow | None:
        with self._read() as conn:
            row = conn.execute(select(USERS).where(USERS.c.username == username)).first()
        return UserRow(**row._mapping) if row is not None else None

    def list_users(self) -> list[UserRow]:
        with self._read() as conn:
            rows = conn.execute(select(USERS).order_by(USERS.c.username)).all()
        return [UserRow(**row._mapping) for row in rows]

    def update_user(
        self,
        username: str,
        *,
        role: str | None = None,
        password_hash: str | None = None,
        last_login_at: datetime | None = None,
        disabled: bool | None = None,
    ) -> bool:
        values = _given(
            role=role, password_hash=password_hash, last_login_at=last_login_at, disabled=disabled
        )
        return self._change(USERS, USERS.c.username == username, values)

    def delete_user(self, username: str) -> bool:
        with self._write() as conn:
            # Explicitly, as well as by the foreign keys: SQLite enforces them only when the
            # engine turned them on.
            for table in (API_TOKENS, SESSIONS):
                conn.execute(delete(table).where(table.c.username == username))
            return bool(conn.execute(delete(USERS).where(USERS.c.username == username)).rowcount)

    # -- roles ---------------------------------------------------------------------------------

    def add_role(self, role: RoleRow) -> bool:
        values = {"name": role.name, "level": role.level, "dag_tags": list(role.dag_tags)}
        return self._add(ROLES, values)

    def get_role(self, name: str) -> RoleRow | None:
        with self._read() as conn:
            row = conn.execute(select(ROLES).where(ROLES.c.name == name)).first()
        return RoleRow(row.name, row.level, list(row.dag_tags)) if row is not None else None

    def list_roles(self) -> list[RoleRow]:
        with self._read() as conn:
            rows = conn.execute(select(ROLES).order_by(ROLES.c.name)).all()
        return [RoleRow(row.name, row.level, list(row.dag_tags)) for row in rows]

    def delete_role(self, name: str) -> bool:
        return bool(self._delete(ROLES, ROLES.c.name == name))

    # -- API tokens ----------------------------------------------------------------------------

    def add_token(self, token: TokenRow) -> None:
        with self._write() as conn:
            conn.execute(insert(API_TOKENS), vars(token).copy())

    def get_token(self, token_id: str) -> TokenRow | None:
        return self._one_token(API_TOKENS.c.id == token_id)

    def find_token(self, token_hash: str) -> TokenRow | None:
        return self._one_token(API_TOKENS.c.token_hash == token_hash)

    def _one_token(self, where: Any) -> TokenRow | None:
        with self._read() as conn:
            row = conn.execute(select(API_TOKENS).where(where)).first()
        return TokenRow(**row._mapping) if row is not None else None

    def list_tokens(self, username: str | None = None) -> list[TokenRow]:
        query = select(API_TOKENS).order_by(API_TOKENS.c.created_at, API_TOKENS.c.id)
        if username is not None:
            query = query.where(API_TOKENS.c.username == username)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [TokenRow(**row._mapping) for row in rows]

    def update_token(
        self,
        token_id: str,
        *,
        last_used_at: datetime | None = None,
        revoked_at: datetime | None = None,
    ) -> bool:
        values = _given(last_used_at=last_used_at, revoked_at=revoked_at)
        return self._change(API_TOKENS, API_TOKENS.c.id == token_id, values)

    # -- sessions ------------------------------------------------------------------------------

    def add_session(self, session: SessionRow) -> None:
        with self._write() as conn:
            conn.execute(insert(SESSIONS), vars(session).copy())

    def get_session(self, id_hash: str) -> SessionRow | None:
        with self._read() as conn:
            row = conn.execute(select(SESSIONS).where(SESSIONS.c.id_hash == id_hash)).first()
        return SessionRow(**row._mapping) if row is not None else None

    def touch_session(self, id_hash: str, last_seen_at: datetime, expires_at: datetime) -> bool:
        values = {"last_seen_at": last_seen_at, "expires_at": expires_at}
        return self._change(SESSIONS, SESSIONS.c.id_hash == id_hash, values)

    def delete_session(self, id_hash: str) -> bool:
        return bool(self._delete(SESSIONS, SESSIONS.c.id_hash == id_hash))

    def delete_sessions(self, username: str) -> int:
        return self._delete(SESSIONS, SESSIONS.c.username == username)

    # -- failed logins -------------------------------------------------------------------------

    def get_login_failure(self, key: str) -> LoginFailureRow | None:
        with self._read() as conn:
            row = conn.execute(select(LOGIN_FAILURES).where(LOGIN_FAILURES.c.key == key)).first()
        return LoginFailureRow(**row._mapping) if row is not None else None

    def set_login_failure(self, row: LoginFailureRow) -> None:
        stmt = _upsert(self.engine.dialect.name, LOGIN_FAILURES)
        with self._write() as conn:
            conn.execute(stmt, vars(row).copy())

    def clear_login_failure(self, key: str) -> bool:
        return bool(self._delete(LOGIN_FAILURES, LOGIN_FAILURES.c.key == key))
