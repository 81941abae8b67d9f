"""Encryption at rest of what the metadata database holds in secret: connection passwords,
connection extras and variable values.

The ``[secrets] fernet_key`` setting (``HEADWATER__SECRETS__FERNET_KEY``) holds one or more
Fernet keys, comma-separated: the first encrypts, every one decrypts, so a new key goes in
front and the old ones stay until ``headwater rotate-fernet-key`` has re-encrypted every
value with the new one. Without a key values are stored in clear, and the first time that
happens in a process a warning says so and how to make a key.

Each stored value remembers whether it was encrypted (the store's ``is_encrypted`` columns),
so a database written before a key was set keeps working after. A value encrypted with a key
no longer listed is an error naming the value and the setting, never garbage.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from headwater.exceptions import HeadwaterError

log = logging.getLogger(__name__)

SETTING = "secrets.fernet_key"
ENV_VARIABLE = "HEADWATER__SECRETS__FERNET_KEY"
MAX_KEYS = 100
"""Most keys the setting may list: rotation needs two or three, a longer list is a mistake."""


class FernetKeyError(HeadwaterError):
    """The ``secrets.fernet_key`` setting is not a comma-separated list of Fernet keys."""


class UnreadableSecretError(HeadwaterError):
    """A stored value is encrypted, but no configured key decrypts it."""


def generate_fernet_key() -> str:
    """A new random Fernet key (URL-safe base64 of 32 bytes) for ``secrets.fernet_key``."""
    return Fernet.generate_key().decode("ascii")


class SecretCipher:
    """Encrypts and decrypts stored secrets with the configured keys (none: in clear).

    Example::

        cipher = SecretCipher.from_setting("key1,key0")
        text, encrypted = cipher.encrypt("s3cret")
        cipher.decrypt(text, encrypted, "variable 'token'")  # 's3cret'
    """

    def __init__(self, keys: list[Fernet]) -> None:
        self._multi = MultiFernet(keys) if keys else None

    @classmethod
    def from_setting(cls, setting: str) -> SecretCipher:
        """The cipher of a ``secrets.fernet_key`` value; a :class:`FernetKeyError` names the
        key (by position, never by value) that is not a Fernet key."""
        parts = [part.strip() for part in setting.split(",")] if setting.strip() else []
        if len(parts) > MAX_KEYS:
            raise FernetKeyError(f"{SETTING} lists {len(parts)} keys; at most {MAX_KEYS}")
        keys = []
        for position, part in enumerate(parts, start=1):
            try:
                keys.append(Fernet(part.encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                raise FernetKeyError(
                    f"{SETTING} ({ENV_VARIABLE}): key {position} of {len(parts)} is not a "
                    "Fernet key (32 bytes in URL-safe base64, 44 characters); make one with "
                    "`headwater generate-fernet-key`"
                ) from None
        return cls(keys)

    @property
    def enabled(self) -> bool:
        """Whether a key is configured (values are then stored encrypted)."""
        return self._multi is not None

    def encrypt(self, value: str) -> tuple[str, bool]:
        """``value`` as it is to be stored, and whether it is encrypted (not without a key:
        then a warning, once per process, says so)."""
        if self._multi is None:
            warn_stored_in_clear()
            return value, False
        return self._multi.encrypt(value.encode("utf-8")).decode("ascii"), True

    def decrypt(self, stored: str, encrypted: bool, what: str) -> str:
        """The clear text of ``stored``; ``what`` names it in the error (``connection 'db'
        password``) when no configured key decrypts it."""
        if not encrypted:
            return stored
        if self._multi is None:
            raise UnreadableSecretError(
                f"{what} is stored encrypted, but no key is configured: set {SETTING} "
                f"({ENV_VARIABLE}) to the key it was encrypted with"
            )
        try:
            return self._multi.decrypt(stored.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise UnreadableSecretError(
                f"{what} was encrypted with a key that is not in {SETTING} "
                f"({ENV_VARIABLE}); add that key after the current one"
            ) from None

    def rotate(self, stored: str, what: str) -> str:
        """``stored`` (encrypted) re-encrypted with the first key."""
        if self._multi is None:
            raise FernetKeyError(f"no key to rotate to: set {SETTING} ({ENV_VARIABLE})")
        try:
            return self._multi.rotate(stored.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise UnreadableSecretError(
                f"{what} was encrypted with a key that is not in {SETTING} "
                f"({ENV_VARIABLE}); add that key after the current one, then rotate"
            ) from None


@lru_cache(maxsize=8)
def _cipher_for(setting: str) -> SecretCipher:
    return SecretCipher.from_setting(setting)


def current_cipher() -> SecretCipher:
    """The cipher of the settings as they are now (read each time, so a process sees a key
    set after it started; the keys are parsed once per distinct setting)."""
    from headwater.settings import load_settings

    return _cipher_for(load_settings().secrets.fernet_key)


_warn_lock = threading.Lock()
_warned = False


def warn_stored_in_clear() -> None:
    """Say once per process, loudly, that secrets are being stored in clear."""
    global _warned
    with _warn_lock:
        if _warned:
            return
        _warned = True
    log.warning(
        "%s is not set: connection passwords, extras and variables are stored in the "
        "metadata database in clear. Make a key with `headwater generate-fernet-key` and set "
        "%s (or [secrets] fernet_key in headwater.toml)",
        SETTING,
        ENV_VARIABLE,
    )
