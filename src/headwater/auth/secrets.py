"""The secrets of API tokens and sessions: random, shown once, stored as SHA-256 hashes.

A token (``hw_`` and 43 URL-safe characters: 256 random bits) or a session id is far too
random to guess, so a plain SHA-256 of it is a safe thing to store and fast to look up (a
password, which people choose, gets Argon2id instead). Example::

    token = new_token()
    token.secret        # 'hw_Xy...' : given to the user once
    token.hash          # what the database keeps
    hash_secret(token.secret) == token.hash
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

TOKEN_PREFIX = "hw_"
SHOWN_PREFIX_LENGTH = 8
"""How much of a token is kept in clear (``hw_AbCd5``), so people tell their tokens apart."""


def hash_secret(secret: str) -> str:
    """The SHA-256 hex digest of a token or session id: what is stored and looked up."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class NewSecret:
    secret: str
    """Given to the user once; never stored."""
    hash: str

    @property
    def prefix(self) -> str:
        return self.secret[:SHOWN_PREFIX_LENGTH]


def new_token() -> NewSecret:
    """A new API token, ``hw_<random>``."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return NewSecret(secret, hash_secret(secret))


def new_session_id() -> NewSecret:
    """A new session id, the value of the session cookie."""
    secret = secrets.token_urlsafe(32)
    return NewSecret(secret, hash_secret(secret))


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def new_token_id() -> str:
    """The public id of a token (in URLs and lists; not a secret)."""
    return secrets.token_hex(8)


def new_password() -> str:
    """A random password for a first admin (printed once)."""
    return secrets.token_urlsafe(18)


def same_secret(given: str, expected: str) -> bool:
    """Compare two secrets in constant time (a CSRF token against the session's)."""
    return secrets.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode())
