"""Hiding secrets: values registered with :func:`mask_secret` (connection passwords,
variables named like secrets, what a task registers) become ``***`` wherever headwater
shows or stores text: task logs, tracebacks, rendered templates, XCom views, CLI output.

The registry is per process: a worker registers the secrets its attempt reads, and masks
them in what that attempt writes. Another process (the CLI, the scheduler) does not know
them; it can still hide values by the *name* they are stored under
(:func:`is_sensitive_name`), which :func:`redact` does.

Besides the value itself, a few forms a secret commonly takes in text are hidden too
(:func:`_forms`): URL-quoted (``p%40ss`` in a connection URI), escaped as Python's ``repr``
or JSON write it (``a\\nb`` in a logged dict), and each line of a multi-line secret (a
private key logged line by line). Base64 and other encodings are not: their text depends on
what surrounds the secret, so no fixed string could match them.

:func:`redact_text` runs on every line a task logs, so it is a regular expression built as
a trie of every registered form (a shared prefix is tested once, however many secrets start
with it), compiled when first needed after a change, and read without a lock. Compiling
costs about 60 µs per secret, so a secret registered after the others goes into a second,
small pattern of the recent ones (:data:`_RECENT_LIMIT`), applied first; both are compiled
into one again only when that fills up, or when a new secret is part of an older one (so
the longest match still wins). A task that registers secrets one by one between log lines
stays cheap.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"

SENSITIVE_WORDS = (
    "access_token",
    "api_key",
    "apikey",
    "authorization",
    "credential",
    "fernet_key",
    "passphrase",
    "passwd",
    "password",
    "private_key",
    "secret",
    "token",
)
"""A field, variable or ``extra`` key whose name contains one of these is a secret; ``-``
and spaces count as ``_`` (the header ``X-Api-Key`` is ``x_api_key``)."""

_MIN_LENGTH = 3
"""Shorter values are not masked: hiding every ``a`` or ``1`` would hide the log itself."""

MAX_SECRETS = 10_000
"""At most this many registered secrets are kept; past it the oldest are forgotten first
(a long-lived in-process scheduler registers the secrets of attempts long finished)."""

_MAX_DEPTH = 32
"""How deep :func:`redact` follows nested containers; deeper values are shown as their
``repr``, redacted as text (a cycle or a pathological nesting ends here)."""

_PAIR_NAMES = ("key", "name", "setting", "variable", "field")
"""A dict ``{"key": "db_password", "value": "..."}`` (a variable, a setting, an
environment entry, a row of a field/value table) holds a secret under ``value``:
:func:`redact` hides it."""

_RECENT_LIMIT = 64
"""Forms registered since the last full compile are matched by a second pattern, up to
this many; then everything is compiled into one again."""

_lock = threading.Lock()
_secrets: dict[str, None] = {}  # every registered form, an ordered set: the oldest first
_settled: str = ""  # the forms compiled into the main pattern, NUL-separated
_recent: list[str] = []  # the forms registered since, each overlapping no settled one
_full_rebuild = False  # compile everything into the main pattern next time
_main: re.Pattern[str] | None = None  # the settled forms
_Patterns = tuple[re.Pattern[str] | None, re.Pattern[str] | None]
_patterns: _Patterns | None = (None, None)  # (main, recent); None: to be compiled


def is_sensitive_name(name: str) -> bool:
    """Whether a field or key of this name holds a secret (``db_password``, ``API_KEY``)."""
    return _sensitive(name)


@functools.lru_cache(maxsize=4096)
def _sensitive(name: str) -> bool:
    # Cached: redacting a CLI answer asks again for the same few keys in every record.
    lowered = name.lower().replace("-", "_").replace(" ", "_")
    return any(word in lowered for word in SENSITIVE_WORDS)


def mask_secret(value: Any, name: str | None = None) -> None:
    """Hide ``value`` from now on (a string, or every string in a dict or list) in what
    this process logs and shows. With ``name``, a dict's values are hidden only under
    sensitive keys. Strings shorter than three characters are ignored.

    Example, in a task::

        token = fetch_token()
        headwater.mask_secret(token)
        print(f"using {token}")  # the log says: using ***
    """
    global _patterns, _full_rebuild
    found: list[str] = []
    _collect(value, name, found, 0)
    forms = [form for secret in found for form in _forms(secret)]
    if not forms:
        return
    with _lock:
        new = [form for form in dict.fromkeys(forms) if form not in _secrets]
        if not new:
            return
        for form in new:
            _secrets[form] = None
        while len(_secrets) > MAX_SECRETS:
            del _secrets[next(iter(_secrets))]
            _full_rebuild = True  # the main pattern holds a forgotten secret
        if not _full_rebuild:
            if len(_recent) + len(new) > _RECENT_LIMIT or any(_overlaps(f) for f in new):
                _full_rebuild = True
            else:
                _recent.extend(new)
        _patterns = None


def _overlaps(form: str) -> bool:
    """Whether ``form`` is part of a settled secret: the recent pattern, applied first,
    would hide that part and leave the rest of the longer one. (A recent form that holds a
    settled one is fine: it is hidden whole before the main pattern runs.)"""
    return form in _settled


def _collect(value: Any, name: str | None, found: list[str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        if len(value.strip()) >= _MIN_LENGTH and (name is None or is_sensitive_name(name)):
            found.append(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if name is None or is_sensitive_name(str(key)):
                _collect(item, None, found, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _collect(item, name, found, depth + 1)


def _forms(secret: str) -> list[str]:
    """The secret and the forms it commonly takes in text, each long enough to hide; for
    a multi-line secret, each of its lines and their forms too."""
    forms = []
    for text in [secret, *(secret.splitlines() if "\n" in secret else [])]:
        forms += [
            text,
            quote(text, safe=""),
            quote_plus(text, safe=""),
            repr(text)[1:-1],
            json.dumps(text)[1:-1],
            json.dumps(text, ensure_ascii=False)[1:-1],
        ]
    return [form for form in dict.fromkeys(forms) if len(form.strip()) >= _MIN_LENGTH]


def redact(value: Any, name: str | None = None) -> Any:
    """``value`` with every registered secret replaced by ``***``; a value under a sensitive
    ``name`` (or dict key) is replaced whole, and so is the ``value`` of a dict whose
    ``key``/``name``/``setting`` is sensitive. Dicts, lists and tuples are copied; booleans
    and None are never secrets.

    Example::

        redact({"user": "etl", "password": "s3cret", "dsn": "db://etl:s3cret@db"})
        # {"user": "etl", "password": "***", "dsn": "db://etl:***@db"} (s3cret registered)
    """
    return _redact(value, name, 0)


def _redact(value: Any, name: str | None, depth: int) -> Any:
    if name is not None and is_sensitive_name(name) and _may_hold_secret(value):
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if depth >= _MAX_DEPTH and isinstance(value, Mapping | list | tuple):
        return redact_text(repr(value))
    if isinstance(value, Mapping):
        paired = _names_a_secret(value)
        return {
            key: MASK
            if paired and key == "value" and _may_hold_secret(item)
            else _redact(item, str(key), depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redact(item, None, depth + 1) for item in value)
    return value


def _may_hold_secret(value: Any) -> bool:
    return value is not None and value != "" and not isinstance(value, bool)


def _names_a_secret(record: Mapping[Any, Any]) -> bool:
    if "value" not in record:
        return False
    for field in _PAIR_NAMES:
        name = record.get(field)
        if isinstance(name, str):
            if field == "setting":  # section.key: the section ("secrets") says nothing
                name = name.rsplit(".", 1)[-1]
            if is_sensitive_name(name):
                return True
    return False


def redact_text(text: str) -> str:
    """``text`` with every registered secret (and its common forms) replaced by ``***``."""
    if not text:
        return text
    patterns = _patterns
    if patterns is None:
        patterns = _compile()
    main, recent = patterns
    if recent is not None:
        text = recent.sub(MASK, text)
    if main is not None:
        text = main.sub(MASK, text)
    return text


def _compile() -> _Patterns:
    """Compile what changed (once per change, by whoever needs it first)."""
    global _patterns, _settled, _full_rebuild, _main
    with _lock:
        if _patterns is not None:
            return _patterns  # another thread compiled it meanwhile
        if _full_rebuild:
            words = list(_secrets)
            _settled = "\0".join(words)
            _main = _trie_pattern(words) if words else None
            _recent.clear()
            _full_rebuild = False
        recent = _trie_pattern(_recent) if _recent else None
        _patterns = (_main, recent)
        return _patterns


def _trie_pattern(words: list[str]) -> re.Pattern[str]:
    """One regular expression matching any of ``words``, the longest where several start at
    the same place (``secret`` and ``secret2``: all of ``secret2`` is hidden)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # the end of a word
    return re.compile(_trie_regex(trie))


def _trie_regex(node: dict[str, Any]) -> str:
    # Iterative, so a 10,000-character secret does not hit the recursion limit.
    stack: list[tuple[dict[str, Any], list[str], list[str]]] = []
    result = ""
    stack.append((node, sorted(k for k in node if k), [""]))
    while stack:
        current, pending, parts = stack[-1]
        if pending:
            char = pending.pop(0)
            stack.append((current[char], sorted(k for k in current[char] if k), [re.escape(char)]))
            continue
        stack.pop()
        prefix, branches = parts[0], parts[1:]
        ends_here = "" in current
        if not branches:
            body = ""
        elif len(branches) == 1 and not ends_here:
            body = branches[0]
        else:
            body = "(?:" + "|".join(branches) + ")"
            if ends_here:
                body += "?"  # greedy: the longer word is tried first
        if not stack:
            result = body
        else:
            stack[-1][2].append(prefix + body)
    return result


def forget_secrets() -> None:
    """Forget every registered secret (tests; a worker between unrelated attempts)."""
    global _patterns, _settled, _full_rebuild, _main
    with _lock:
        _secrets.clear()
        _recent.clear()
        _settled = ""
        _main = None
        _full_rebuild = False
        _patterns = (None, None)
