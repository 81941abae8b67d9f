"""How a setting's value is read and checked: its type, its range or choices, and where it
came from, for :mod:`headwater.settings`.

A value from the environment is text and is parsed into the field's type; a value from
``headwater.toml`` already has a TOML type, which must be the field's (``true`` is not a
number, ``"8"`` is not an integer). Numbers must be finite and inside the field's range.
Every refusal is one :class:`SettingsError` that names the setting, where the value came from
(the variable, or the file and line) and what is allowed.
"""

from __future__ import annotations

import math
import re
import reprlib
from dataclasses import Field, field
from typing import Any

from headwater.exceptions import HeadwaterError


class SettingsError(HeadwaterError):
    """A setting is unknown, has a value of the wrong type or out of range, or the file is
    unreadable."""


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")

_shown = reprlib.Repr()
_shown.maxstring = 60
_shown.maxlong = 40
_shown.maxother = 60


def _number(value: float) -> str:
    if not float(value).is_integer():
        return f"{value:g}"
    return f"{int(value):_}" if abs(value) >= 10_000 else str(int(value))


def allowed(f: Field[Any]) -> str:
    """What ``f`` allows, in words: "an integer from 1 to 1024", "one of 'a', 'b'"."""
    kind = f.type
    if kind == "bool":
        return "true or false"
    if kind in ("int", "float"):
        noun = "an integer" if kind == "int" else "a number"
        low, high = f.metadata.get("minimum"), f.metadata.get("maximum")
        if low is not None and high is not None:
            return f"{noun} from {_number(low)} to {_number(high)}"
        if low is not None:
            return f"{noun} of at least {_number(low)}"
        if high is not None:
            return f"{noun} of at most {_number(high)}"
        return f"a finite {noun[2:] if kind == 'int' else 'number'}"
    choices = f.metadata.get("choices") or ()
    if choices:
        return "one of " + ", ".join(repr(c) for c in choices)
    return "a string"


def _refuse(value: Any, f: Field[Any], name: str, where: str) -> SettingsError:
    return SettingsError(f"{name} ({where}): expected {allowed(f)}, got {_shown.repr(value)}")


def parse_variable(raw: str, f: Field[Any], name: str, where: str) -> Any:
    """The value of an environment variable's text ``raw`` in ``f``'s type (not yet range
    checked)."""
    text = raw.strip()
    if not text.isascii():  # int() and float() also read other scripts' digits, like '٣'
        raise _refuse(raw, f, name, where)
    try:
        if f.type == "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
        elif f.type == "int":
            return int(text)
        elif f.type == "float":
            return float(text)
        else:
            return raw
    except ValueError:
        pass
    raise _refuse(raw, f, name, where)


def check_value(value: Any, f: Field[Any], name: str, where: str) -> Any:
    """``value`` when it has ``f``'s type (an integer stands for a float) and is allowed."""
    kind = f.type
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, str)
    if ok and kind in ("int", "float"):
        low, high = f.metadata.get("minimum"), f.metadata.get("maximum")
        ok = (low is None or value >= low) and (high is None or value <= high)
    choices = f.metadata.get("choices") or ()
    if ok and choices:
        ok = value in choices
    if not ok:
        raise _refuse(value, f, name, where)
    return value


def file_line(text: str, section: str, key: str) -> int | None:
    """The line (from 1) of ``key = ...`` in ``[section]`` of the TOML ``text``, if found."""
    current = None
    header = re.compile(r"\s*\[\s*([^\]\s]+)\s*\]")
    assignment = re.compile(rf"\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        match = header.match(line)
        if match:
            current = match.group(1)
        elif current == section and assignment.match(line):
            return number
    return None


DAY_S = 86_400.0


def setting(
    default: Any,
    description: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] = (),
) -> Any:
    """A field with its description and what values it allows (both bounds included)."""
    metadata = {"description": description, "minimum": minimum, "maximum": maximum}
    return field(default=default, metadata={**metadata, "choices": choices})
