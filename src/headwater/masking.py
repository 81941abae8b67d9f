"""Hiding secrets: values registered with :func:`mask_secret` (connection passwords,
variables named like secrets, what a task registers) become ``***`` wherever headwater
shows or stores text: task logs, tracebacks, rendered templates, XCom views, CLI output.

The registry is per process; a worker registers the secrets its attempt reads.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

MASK = "***"

SENSITIVE_WORDS = (
    "access_token",
    "api_key",
    "apikey",
    "authorization",
    "passphrase",
    "passwd",
    "password",
    "private_key",
    "secret",
    "token",
)
"""A field, variable or ``extra`` key whose name contains one of these is a secret."""

_MIN_LENGTH = 3
"""Shorter values are not masked: hiding every ``a`` or ``1`` would hide the log itself."""

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def is_sensitive_name(name: str) -> bool:
    """Whether a field or key of this name holds a secret (``db_password``, ``API_KEY``)."""
    lowered = name.lower()
    return any(word in lowered for word in SENSITIVE_WORDS)


def mask_secret(value: Any, name: str | None = None) -> None:
    """Hide ``value`` from now on (a string, or every string in a dict or list). With
    ``name``, a dict's values are hidden only under sensitive keys."""
    global _pattern
    found: list[str] = []
    _collect(value, name, found)
    if not found:
        return
    with _lock:
        before = len(_secrets)
        _secrets.update(found)
        if len(_secrets) != before:
            ordered = sorted(_secrets, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def _collect(value: Any, name: str | None, found: list[str]) -> None:
    if isinstance(value, str):
        if len(value) >= _MIN_LENGTH and (name is None or is_sensitive_name(name)):
            found.append(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if name is None or is_sensitive_name(str(key)):
                _collect(item, None, found)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _collect(item, name, found)


def redact(value: Any, name: str | None = None) -> Any:
    """``value`` with every registered secret replaced by ``***``; a value under a sensitive
    ``name`` (or dict key) is replaced whole. Dicts, lists and tuples are copied."""
    if name is not None and is_sensitive_name(name) and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {key: redact(item, str(key)) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(item) for item in value)
    return value


def redact_text(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def forget_secrets() -> None:
    """Forget every registered secret (tests; a worker between unrelated attempts)."""
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None
