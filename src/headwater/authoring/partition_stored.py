"""The JSON form partition mappers, windows and wait policies share, for the scheduler, which
works from a DAG's serialized form, not its code.

headwater's own classes are stored by a kind name and their fields::

    {"kind": "start_of_day", "timezone": "UTC", "input_format": "%Y-%m-%dT%H:%M:%S",
     "output_format": "%Y-%m-%d"}

a subclass of one's own (defined at the top level of an importable module) by its import
path and what its :meth:`Stored.to_json_data` returns, imported by that path when read back::

    {"classpath": "my_package.mappers.PrefixStripMapper", "data": {"prefix": "eu"}}

A class written for Airflow, with ``serialize``/``deserialize``, is stored through those.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from headwater.exceptions import DagDefinitionError, HeadwaterError

__all__ = ["PartitionJsonError", "Stored", "read_stored"]


class PartitionJsonError(HeadwaterError, ValueError):
    """A stored partition mapper, window or wait policy that cannot be read back (the message
    says which field is wrong)."""


class Stored:
    """What mappers, windows and wait policies share: a JSON form, equality by value and a
    ``repr``. Subclasses of one's own override :meth:`to_json_data` and
    :meth:`from_json_data` (or Airflow's ``serialize``/``deserialize``, which are honoured)."""

    _json_kind: ClassVar[str | None] = None
    """The kind name a class of headwater's own is stored by (set in its body only)."""
    _kinds: ClassVar[dict[str, type[Any]]]
    """Kind name to class, one table per family (mappers, windows, policies)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("_json_kind")
        if kind is not None:
            cls._kinds[kind] = cls

    def to_json(self) -> dict[str, Any]:
        """This object as JSON-ready data that ``*_from_json`` turns back into an equal one."""
        cls = type(self)
        if cls.__dict__.get("_json_kind") is not None:
            return {"kind": cls._json_kind, **self.to_json_data()}
        if "<locals>" in cls.__qualname__:
            raise DagDefinitionError(
                f"{cls.__qualname__} is defined inside a function, so it cannot be imported "
                "back by its name: define it at the top level of a module"
            )
        return {"classpath": f"{cls.__module__}.{cls.__qualname__}", "data": self.to_json_data()}

    def to_json_data(self) -> dict[str, Any]:
        """The fields that :meth:`from_json_data` rebuilds this object from (JSON values)."""
        airflow = self._airflow_data()
        return {} if airflow is None else airflow

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> Self:
        """The object :meth:`to_json_data` described."""
        airflow = cls._airflow_read(data)
        return cls() if airflow is None else airflow

    def serialize(self) -> dict[str, Any]:
        """Airflow's name for :meth:`to_json_data`."""
        return self.to_json_data()

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Self:
        """Airflow's name for :meth:`from_json_data`."""
        return cls.from_json_data(data)

    def _airflow_data(self) -> dict[str, Any] | None:
        """What a ``serialize`` override (a class written for Airflow) returns; None
        without one."""
        return dict(self.serialize()) if type(self).serialize is not Stored.serialize else None

    @classmethod
    def _airflow_read(cls, data: dict[str, Any]) -> Self | None:
        """What an Airflow-style ``deserialize`` override returns (None without one)."""
        if getattr(cls.deserialize, "__func__", None) is Stored.__dict__["deserialize"].__func__:
            return None
        return cls.deserialize(data)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def _repr_args(self) -> list[str]:
        return [
            f"{name}={value!r}"
            for name, value in vars(self).items()
            if not name.startswith("_") and value is not None
        ]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self._repr_args())})"


def read_stored(base: type[Any], data: Any, what: str) -> Any:
    """The ``base`` that :meth:`Stored.to_json` wrote as ``data``; a
    :class:`PartitionJsonError` naming ``what`` and the wrong field otherwise."""
    if not isinstance(data, Mapping):
        raise PartitionJsonError(f"a stored {what} must be a JSON object, got {data!r:.80}")
    if "kind" in data:
        kind = data["kind"]
        cls = base._kinds.get(kind) if isinstance(kind, str) else None
        if cls is None:
            known = ", ".join(sorted(base._kinds))
            raise PartitionJsonError(f"unknown {what} kind {kind!r:.60} (known: {known})")
        fields = {name: value for name, value in data.items() if name != "kind"}
        label = f"{what} {kind!r}"
    elif "classpath" in data:
        cls = _import_class(data["classpath"], base, what)
        fields = data.get("data", {})
        if not isinstance(fields, Mapping):
            raise PartitionJsonError(f"stored {what} {cls.__name__}: 'data' must be an object")
        fields = dict(fields)
        label = f"{what} {cls.__name__}"
    else:
        raise PartitionJsonError(
            f"a stored {what} needs 'kind' or 'classpath', got the fields {sorted(map(str, data))}"
        )
    try:
        found = cls.from_json_data(fields)
    except PartitionJsonError:
        raise
    except KeyError as err:
        raise PartitionJsonError(f"stored {label} lacks the field {err}") from err
    except (TypeError, ValueError, AttributeError, HeadwaterError) as err:
        raise PartitionJsonError(f"stored {label} is malformed: {err}") from err
    if not isinstance(found, base):
        raise PartitionJsonError(f"stored {label} did not read back as a {base.__name__}")
    return found


def _import_class(path: Any, base: type[Any], what: str) -> type[Any]:
    if not isinstance(path, str) or "." not in path:
        raise PartitionJsonError(f"stored {what} classpath {path!r:.80} is not 'module.Class'")
    parts = path.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        try:
            found: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name is not None and module_name.startswith(err.name):
                continue  # a shorter module name, with the rest as attributes
            raise PartitionJsonError(f"importing {what} {path!r} failed: {err}") from err
        except Exception as err:
            raise PartitionJsonError(f"importing {what} {path!r} failed: {err}") from err
        for attribute in parts[split:]:
            found = getattr(found, attribute, None)
        if isinstance(found, type) and issubclass(found, base):
            return found
        raise PartitionJsonError(f"stored {what} classpath {path!r} is not a {base.__name__}")
    raise PartitionJsonError(f"stored {what} classpath {path!r}: no such module")
