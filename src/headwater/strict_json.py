"""Standard JSON only, for what people and files give headwater and what it stores.

Python's :mod:`json` reads and writes ``NaN``, ``Infinity`` and ``-Infinity``, which are not
JSON: PostgreSQL refuses them in its JSON columns, other tools refuse the output, and SQLite
would keep them silently. Every JSON input (``--conf``, ``--extra``, ``var.json``...) is
read here, so every one refuses them the same way, and duplicate keys too (Python would
keep the last one without a word), numbers so large they read as infinity (``1e999``), and
integers of more than :data:`MAX_INT_DIGITS` digits. Example::

    conf = loads_object(text, "--conf")  # InvalidJsonError: --conf: NaN is not JSON ...
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from headwater.exceptions import HeadwaterError
from headwater.shown_text import quoted


class InvalidJsonError(HeadwaterError, ValueError):
    """Text that is not standard JSON, or a value that standard JSON cannot hold."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (standard JSON has no NaN or infinity)")


MAX_INT_DIGITS = 4300
"""Most digits of a JSON integer: Python's own limit for turning text into an int (see
``sys.set_int_max_str_digits``), said here plainly instead of in its words."""


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise ValueError(f"number too long: {digits} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _parse_float(text: str) -> float:
    # 1e999 is valid JSON text, but Python reads it as infinity, which JSON cannot hold:
    # refused here, while parsing, like NaN, rather than later as a stored value.
    value = float(text)
    if math.isinf(value):
        raise ValueError(
            f"number {quoted(text)} is too large: it would be infinity, which JSON cannot hold"
        )
    return value


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} is given twice")
        result[key] = value
    return result


def loads(text: str, source: str) -> Any:
    """The value of JSON ``text``; else :class:`InvalidJsonError` naming ``source`` (an
    option, a file, a variable) and the problem, with its line and column when it has one."""
    try:
        return json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_parse_float,
            parse_int=_parse_int,
            object_pairs_hook=_refuse_duplicates,
        )
    except json.JSONDecodeError as exc:
        raise InvalidJsonError(f"{source}: not valid JSON: {exc}") from None
    except ValueError as exc:  # raised by the hooks above
        raise InvalidJsonError(f"{source}: {exc}") from None
    except RecursionError:
        raise InvalidJsonError(f"{source}: nested too deeply to be read") from None


def loads_object(text: str, source: str) -> dict[str, Any]:
    """Like :func:`loads`, and the value must be an object (``{...}``)."""
    value = loads(text, source)
    if not isinstance(value, dict):
        raise InvalidJsonError(f"{source}: must be a JSON object like '{{\"key\": 1}}'")
    return value


def non_finite_path(value: Any, path: str = "") -> str | None:
    """Where in ``value`` (lists and mappings, walked) a NaN or infinite float is, like
    ``['a'][0]``; ``None`` when there is none."""
    if isinstance(value, float):
        return None if math.isfinite(value) else path or "the value"
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = non_finite_path(item, f"{path}[{key!r}]")
        if found is not None:
            return found
    return None


def non_finite_as_text(value: Any) -> Any:
    """``value`` with each NaN or infinite float (in lists and mappings, walked) replaced by
    its JSON-ish name, ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``; ``value`` itself when it
    holds none."""
    if non_finite_path(value) is None:
        return value
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {key: non_finite_as_text(item) for key, item in value.items()}
    return [non_finite_as_text(item) for item in value]


def require_finite(value: Any, name: str) -> None:
    """Refuse ``value`` (conf, an extra...) if it holds NaN or infinity, naming where."""
    where = non_finite_path(value, name)
    if where is not None:
        raise InvalidJsonError(
            f"{where} is NaN or infinite, which JSON cannot hold; use null or a string"
        )


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` that refuses NaN and infinity with :class:`InvalidJsonError`."""
    try:
        return json.dumps(value, allow_nan=False, **kwargs)
    except ValueError as exc:
        if "JSON compliant" not in str(exc):
            raise
        where = non_finite_path(value, "value") or "a value"
        raise InvalidJsonError(
            f"{where} is NaN or infinite, which JSON cannot hold; use null or a string"
        ) from None
