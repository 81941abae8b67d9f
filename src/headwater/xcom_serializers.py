"""Turning values passed between tasks (XCom) into text and back: JSON, never pickle.

The default :class:`JsonSerializer` round-trips JSON types plus datetimes, dates, times,
timedeltas, decimals, UUIDs, tuples, sets, dataclasses and pydantic models (tagged objects
that name their class). Any object with ``dumps(value) -> str`` and ``loads(text) -> value``
can replace it (setting ``xcom.serializer = "package.module:ClassName"``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import importlib
import json
import uuid
from typing import Any, Protocol

from headwater.exceptions import XComError

TAG = "__headwater__"


class Serializer(Protocol):
    def dumps(self, value: Any) -> str: ...

    def loads(self, text: str) -> Any: ...


def _class_path(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def _rebuildable_class_path(obj: Any, fields: tuple[dataclasses.Field[Any], ...] = ()) -> str:
    """``module:qualname`` of ``obj``'s class, checked now so that the task that produced the
    value fails, not the one that reads it: the class must be reachable by that name (not
    defined inside a function) and, for a dataclass, built from its fields."""
    cls = type(obj)
    path = _class_path(obj)
    what = f"{cls.__module__}.{cls.__qualname__}"
    if "<locals>" in cls.__qualname__:
        raise XComError(
            f"cannot pass a {what} between tasks: the class is defined inside a function, so "
            "the task that reads the value could not import it; define it at module level"
        )
    try:
        found = _import_class(path)
    except (ImportError, AttributeError) as exc:
        raise XComError(
            f"cannot pass a {what} between tasks: its class cannot be imported ({exc})"
        ) from None
    if found is not cls:
        raise XComError(f"cannot pass a {what} between tasks: {path} names another class on import")
    for field in fields:
        if not field.init:
            raise XComError(
                f"cannot pass a {what} between tasks: its field {field.name!r} has init=False, "
                "so the value cannot be rebuilt from its fields"
            )
    return path


def _rebuild(path: str, build: Any) -> Any:
    """``build(cls)`` for the class at ``path``, with an error that names the class."""
    try:
        return build(_import_class(path))
    except XComError:
        raise
    except Exception as exc:
        raise XComError(f"cannot rebuild a passed value of class {path}: {exc}") from exc


def _import_class(path: str) -> Any:
    module_name, _, qualname = path.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


class JsonSerializer:
    """JSON with tagged objects for the common Python types that JSON lacks."""

    def _encode(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, list):
            return [self._encode(v) for v in value]
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if not isinstance(k, str):
                    raise XComError(
                        f"dict keys must be strings to be passed between tasks; got {k!r}"
                    )
                out[k] = self._encode(v)
            return out
        if isinstance(value, tuple):
            return {TAG: "tuple", "v": [self._encode(v) for v in value]}
        if isinstance(value, set | frozenset):
            return {TAG: "set", "v": [self._encode(v) for v in sorted(value, key=repr)]}
        if isinstance(value, dt.datetime):
            return {TAG: "datetime", "v": value.isoformat()}
        if isinstance(value, dt.date):
            return {TAG: "date", "v": value.isoformat()}
        if isinstance(value, dt.time):
            return {TAG: "time", "v": value.isoformat()}
        if isinstance(value, dt.timedelta):
            return {TAG: "timedelta", "v": value.total_seconds()}
        if isinstance(value, decimal.Decimal):
            return {TAG: "decimal", "v": str(value)}
        if isinstance(value, uuid.UUID):
            return {TAG: "uuid", "v": str(value)}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            declared = dataclasses.fields(value)
            path = _rebuildable_class_path(value, declared)
            fields = {f.name: self._encode(getattr(value, f.name)) for f in declared}
            return {TAG: "dataclass", "cls": path, "v": fields}
        if hasattr(value, "model_dump") and hasattr(type(value), "model_validate"):
            path = _rebuildable_class_path(value)
            return {TAG: "pydantic", "cls": path, "v": value.model_dump(mode="json")}
        raise XComError(
            f"cannot pass a {type(value).__module__}.{type(value).__qualname__} between tasks: "
            "return JSON types, dates, decimals, UUIDs, dataclasses or pydantic models, "
            "or configure another xcom serializer"
        )

    def _decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        tag = value.get(TAG)
        if tag is None:
            return {k: self._decode(v) for k, v in value.items()}
        raw = value["v"]
        if tag == "tuple":
            return tuple(self._decode(v) for v in raw)
        if tag == "set":
            return {self._decode(v) for v in raw}
        if tag == "datetime":
            return dt.datetime.fromisoformat(raw)
        if tag == "date":
            return dt.date.fromisoformat(raw)
        if tag == "time":
            return dt.time.fromisoformat(raw)
        if tag == "timedelta":
            return dt.timedelta(seconds=raw)
        if tag == "decimal":
            return decimal.Decimal(raw)
        if tag == "uuid":
            return uuid.UUID(raw)
        if tag == "dataclass":
            fields = {k: self._decode(v) for k, v in raw.items()}
            return _rebuild(value["cls"], lambda cls: cls(**fields))
        if tag == "pydantic":
            return _rebuild(value["cls"], lambda cls: cls.model_validate(raw))
        raise XComError(f"unknown serialized type tag {tag!r}")

    def dumps(self, value: Any) -> str:
        try:
            return json.dumps(self._encode(value), separators=(",", ":"), allow_nan=False)
        except ValueError as exc:  # NaN or infinity
            raise XComError(f"cannot pass {value!r:.80} between tasks: {exc}") from None

    def loads(self, text: str) -> Any:
        return self._decode(json.loads(text))


def load_serializer(path: str | None) -> Serializer:
    """The serializer named by ``"module:Class"``, or the JSON default."""
    if not path:
        return JsonSerializer()
    try:
        cls = _import_class(path)
    except (ImportError, AttributeError, ValueError) as exc:
        raise XComError(f"cannot import xcom serializer {path!r}: {exc}") from exc
    serializer: Serializer = cls()
    return serializer
