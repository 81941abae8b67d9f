"""The memory store's accounts: users, roles, API tokens, sessions and failed logins."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from headwater.db.rows import LoginFailureRow, RoleRow, SessionRow, TokenRow, UserRow
from headwater.store.memory.core import MemoryCore


def _copy_role(role: RoleRow) -> RoleRow:
    return dataclasses.replace(role, dag_tags=list(role.dag_tags))


class MemoryUsers(MemoryCore):
    """Users, roles, tokens, sessions and failed logins in memory."""

    def add_user(self, user: UserRow) -> bool:
        with self._lock:
            if user.username in self._s.users:
                return False
            self._s.users[user.username] = dataclasses.replace(user)
            return True

    def get_user(self, username: str) -> UserRow | None:
        with self._lock:
            row = self._s.users.get(username)
            return dataclasses.replace(row) if row is not None else None

    def list_users(self) -> list[UserRow]:
        with self._lock:
            return [dataclasses.replace(self._s.users[k]) for k in sorted(self._s.users)]

    def update_user(
        self,
        username: str,
        *,
        role: str | None = None,
        password_hash: str | None = None,
        last_login_at: datetime | None = None,
        disabled: bool | None = None,
    ) -> bool:
        changes = {
            name: value
            for name, value in (
                ("role", role),
                ("password_hash", password_hash),
                ("last_login_at", last_login_at),
                ("disabled", disabled),
            )
            if value is not None
        }
        with self._lock:
            row = self._s.users.get(username)
            if row is None:
                return False
            self._s.users[username] = dataclasses.replace(row, **changes)  # type: ignore[arg-type]
            return True

    def delete_user(self, username: str) -> bool:
        with self._lock:
            if self._s.users.pop(username, None) is None:
                return False
            # As the foreign keys' ON DELETE CASCADE does on SQL.
            for table in (self._s.tokens, self._s.sessions):
                for key in [k for k, row in table.items() if row.username == username]:
                    del table[key]
            return True

    def add_role(self, role: RoleRow) -> bool:
        with self._lock:
            if role.name in self._s.roles:
                return False
            self._s.roles[role.name] = _copy_role(role)
            return True

    def get_role(self, name: str) -> RoleRow | None:
        with self._lock:
            row = self._s.roles.get(name)
            return _copy_role(row) if row is not None else None

    def list_roles(self) -> list[RoleRow]:
        with self._lock:
            return [_copy_role(self._s.roles[k]) for k in sorted(self._s.roles)]

    def delete_role(self, name: str) -> bool:
        with self._lock:
            return self._s.roles.pop(name, None) is not None

    def add_token(self, token: TokenRow) -> None:
        with self._lock:
            if token.username not in self._s.users:
                raise ValueError(f"no user {token.username!r}")
            if token.id in self._s.tokens or self.find_token(token.token_hash) is not None:
                raise ValueError(f"token {token.id!r} exists already")
            self._s.tokens[token.id] = dataclasses.replace(token)

    def get_token(self, token_id: str) -> TokenRow | None:
        with self._lock:
            row = self._s.tokens.get(token_id)
            return dataclasses.replace(row) if row is not None else None

    def find_token(self, token_hash: str) -> TokenRow | None:
        with self._lock:
            for row in self._s.tokens.values():
                if row.token_hash == token_hash:
                    return dataclasses.replace(row)
            return None

    def list_tokens(self, username: str | None = None) -> list[TokenRow]:
        with self._lock:
            rows = [
                dataclasses.replace(row)
                for row in self._s.tokens.values()
                if username is None or row.username == username
            ]
        return sorted(rows, key=lambda row: (row.created_at, row.id))

    def update_token(
        self,
        token_id: str,
        *,
        last_used_at: datetime | None = None,
        revoked_at: datetime | None = None,
    ) -> bool:
        changes = {
            name: value
            for name, value in (("last_used_at", last_used_at), ("revoked_at", revoked_at))
            if value is not None
        }
        with self._lock:
            row = self._s.tokens.get(token_id)
            if row is None:
                return False
            self._s.tokens[token_id] = dataclasses.replace(row, **changes)  # type: ignore[arg-type]
            return True

    def add_session(self, session: SessionRow) -> None:
        with self._lock:
            if session.username not in self._s.users:
                raise ValueError(f"no user {session.username!r}")
            self._s.sessions[session.id_hash] = dataclasses.replace(session)

    def get_session(self, id_hash: str) -> SessionRow | None:
        with self._lock:
            row = self._s.sessions.get(id_hash)
            return dataclasses.replace(row) if row is not None else None

    def touch_session(self, id_hash: str, last_seen_at: datetime, expires_at: datetime) -> bool:
        with self._lock:
            row = self._s.sessions.get(id_hash)
            if row is None:
                return False
            self._s.sessions[id_hash] = dataclasses.replace(
                row, last_seen_at=last_seen_at, expires_at=expires_at
            )
            return True

    def delete_session(self, id_hash: str) -> bool:
        with self._lock:
            return self._s.sessions.pop(id_hash, None) is not None

    def delete_sessions(self, username: str) -> int:
        with self._lock:
            ended = [k for k, row in self._s.sessions.items() if row.username == username]
            for key in ended:
                del self._s.sessions[key]
            return len(ended)

    def get_login_failure(self, key: str) -> LoginFailureRow | None:
        with self._lock:
            row = self._s.login_failures.get(key)
            return dataclasses.replace(row) if row is not None else None

    def set_login_failure(self, row: LoginFailureRow) -> None:
        with self._lock:
            self._s.login_failures[row.key] = dataclasses.replace(row)

    def clear_login_failure(self, key: str) -> bool:
        with self._lock:
            return self._s.login_failures.pop(key, None) is not None
