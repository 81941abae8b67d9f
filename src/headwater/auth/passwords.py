"""Passwords: Argon2id hashes (argon2-cffi), and the rules a new password must meet.

Only the hash is stored. :func:`verify_password` checks a password against a stored hash,
and says when the hash was made with older parameters so the caller stores a new one
(:func:`hash_password` with today's); :func:`burn_verify_time` spends the time of one check
for a login of an unknown user, so the answer's timing never tells whether a user exists.
Example::

    stored = hash_password("correct horse")
    verify_password(stored, "correct horse")   # Verified(ok=True, needs_rehash=False)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
"""A bound on the work one login costs (hashing reads the whole password)."""


@cache
def _hasher() -> PasswordHasher:
    """Argon2id with argon2-cffi's recommended parameters (RFC 9106's low-memory choice)."""
    return PasswordHasher()


def password_problem(password: str) -> str | None:
    """Why ``password`` may not be used, or None when it may."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters long"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must be at most {MAX_PASSWORD_LENGTH} characters long"
    if not password.strip():
        return "must not be only spaces"
    if not storable(password):
        return "must not hold NUL characters or invalid Unicode (lone surrogates)"
    return None


def storable(text: str) -> bool:
    """Whether ``text`` can be hashed or stored: no NUL (PostgreSQL refuses it in text) and
    no lone surrogate (it has no UTF-8 form). Anything else is looked up or refused first,
    so a strange name never reaches the database and answers not found instead of 500."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (salted: the same password hashes differently)."""
    return _hasher().hash(password)


@dataclass(frozen=True)
class Verified:
    ok: bool
    needs_rehash: bool = False
    """The hash was made with other parameters than today's: store a new one."""


def verify_password(stored_hash: str, password: str) -> Verified:
    """Whether ``password`` matches ``stored_hash``; a damaged hash never matches."""
    hasher = _hasher()
    if not storable(password):
        password = password.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    try:
        hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return Verified(ok=False)
    return Verified(ok=True, needs_rehash=hasher.check_needs_rehash(stored_hash))


@cache
def _dummy_hash() -> str:
    return hash_password("a password nobody has")


def burn_verify_time(password: str) -> None:
    """Spend what checking a password costs, for a user who does not exist."""
    verify_password(_dummy_hash(), password)
