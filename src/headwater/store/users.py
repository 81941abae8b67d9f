"""The user port: who may use the REST API and web UI (users, roles, API tokens, sessions,
failed logins). Part of :class:`headwater.store.ports.Store`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from headwater.db.rows import LoginFailureRow, RoleRow, SessionRow, TokenRow, UserRow


class UserStore(ABC):
    """Users, roles, API tokens, sessions and failed logins: who may use the REST API and UI.

    Secrets are never stored: a password as its Argon2id hash, a token or session id as its
    SHA-256 hash (:mod:`headwater.auth`). Deleting a user deletes their tokens and sessions.
    """

    @abstractmethod
    def add_user(self, user: UserRow) -> bool:
        """Store a new user; False (and nothing written) if the username is taken."""

    @abstractmethod
    def get_user(self, username: str) -> UserRow | None: ...

    @abstractmethod
    def list_users(self) -> list[UserRow]:
        """Users by name."""

    @abstractmethod
    def update_user(
        self,
        username: str,
        *,
        role: str | None = None,
        password_hash: str | None = None,
        last_login_at: datetime | None = None,
        disabled: bool | None = None,
    ) -> bool:
        """Change the given fields (None keeps one); False if there is no such user."""

    @abstractmethod
    def delete_user(self, username: str) -> bool:
        """Delete a user with their tokens and sessions; False if there was none."""

    @abstractmethod
    def add_role(self, role: RoleRow) -> bool:
        """Store a new role; False (and nothing written) if the name is taken."""

    @abstractmethod
    def get_role(self, name: str) -> RoleRow | None: ...

    @abstractmethod
    def list_roles(self) -> list[RoleRow]:
        """Stored roles by name (the built-in ones have no row)."""

    @abstractmethod
    def delete_role(self, name: str) -> bool: ...

    @abstractmethod
    def add_token(self, token: TokenRow) -> None:
        """Store a new token (its id and hash are fresh random values)."""

    @abstractmethod
    def get_token(self, token_id: str) -> TokenRow | None: ...

    @abstractmethod
    def find_token(self, token_hash: str) -> TokenRow | None:
        """The token whose hash is ``token_hash`` (revoked or expired ones included)."""

    @abstractmethod
    def list_tokens(self, username: str | None = None) -> list[TokenRow]:
        """Tokens (of ``username``, or everyone's), oldest first (then by id)."""

    @abstractmethod
    def update_token(
        self,
        token_id: str,
        *,
        last_used_at: datetime | None = None,
        revoked_at: datetime | None = None,
    ) -> bool:
        """Record a token's use or revocation (None keeps a field); False if there is none."""

    @abstractmethod
    def add_session(self, session: SessionRow) -> None: ...

    @abstractmethod
    def get_session(self, id_hash: str) -> SessionRow | None: ...

    @abstractmethod
    def touch_session(self, id_hash: str, last_seen_at: datetime, expires_at: datetime) -> bool:
        """Record a session's use and move its end; False if there is none."""

    @abstractmethod
    def delete_session(self, id_hash: str) -> bool: ...

    @abstractmethod
    def delete_sessions(self, username: str) -> int:
        """End every session of ``username`` (a new password, say); how many."""

    @abstractmethod
    def get_login_failure(self, key: str) -> LoginFailureRow | None: ...

    @abstractmethod
    def set_login_failure(self, row: LoginFailureRow) -> None:
        """Create or replace the failures of ``row.key``."""

    @abstractmethod
    def clear_login_failure(self, key: str) -> bool: ...
