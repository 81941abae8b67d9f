"""``Variable`` and ``Connection`` as Airflow code calls them, over headwater's secrets lookup
(:mod:`headwater.secrets`: the configured backends, then the metadata database of the running
task).

    Variable.get("threshold", default_var="10")          # text, or the default
    Variable.get("settings", deserialize_json=True)      # parsed JSON
    Variable.set("watermark", "2024-01-01")              # in a task: its run's database
    Connection.get_connection_from_secrets("warehouse")  # a headwater Connection

At parse time a DAG file sees the configured backends (environment variables by default);
inside a task it also sees the metadata database, as ``{{ var.value.x }}`` does.
"""

from __future__ import annotations

import json
from typing import Any

from headwater.exceptions import HeadwaterError
from headwater.secrets import Connection as _Connection
from headwater.secrets import VariableNotFoundError, get_connection, get_variable, lookup_chain
from headwater.secrets.lookup import MetastoreBackend
from headwater.strict_json import loads

__all__ = ["Connection", "Variable", "VariableKeyError"]


class _NotSet:
    def __repr__(self) -> str:
        return "NOTSET"


_NOTSET: Any = _NotSet()


class VariableKeyError(VariableNotFoundError, KeyError):
    """``Variable.get`` of a key no backend has, with no ``default_var``: a headwater
    :class:`~headwater.secrets.VariableNotFoundError` that Airflow code can also catch as
    ``KeyError`` (what Airflow raises)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class Variable:
    """Airflow's ``Variable``: class methods only, as Airflow DAG files use it."""

    @staticmethod
    def get(key: str, default_var: Any = _NOTSET, deserialize_json: bool = False) -> Any:
        """The variable ``key``: its text, or its JSON parsed with ``deserialize_json``;
        ``default_var`` (returned as given) when no backend has it, else a
        :class:`VariableKeyError`."""
        try:
            value = get_variable(key)
        except VariableNotFoundError as missing:
            if default_var is not _NOTSET:
                return default_var
            raise VariableKeyError(str(missing)) from None
        return loads(value, f"variable {key!r}") if deserialize_json else value

    @staticmethod
    def set(
        key: str, value: Any, description: str | None = None, serialize_json: bool = False
    ) -> None:
        """Store ``value`` (text, or JSON with ``serialize_json``) as the variable ``key`` in
        the metadata database of the running task. Only a running task has one: at parse
        time use ``headwater variables set`` instead."""
        text = json.dumps(value) if serialize_json else value
        if not isinstance(text, str):
            raise HeadwaterError(
                f"Variable.set({key!r}): the value must be text (or give serialize_json=True), "
                f"got {type(value).__name__}"
            )
        for backend in lookup_chain():
            if isinstance(backend, MetastoreBackend):
                setter = getattr(backend.store, "set_variable", None)
                if setter is not None:
                    setter(key, text, description)
                    return
        raise HeadwaterError(
            f"Variable.set({key!r}) works inside a running task (it writes to that run's "
            "metadata database); outside one, set it with `headwater variables set`"
        )

    @staticmethod
    def setdefault(key: str, default: Any, deserialize_json: bool = False) -> Any:
        """The variable ``key``, or ``default`` stored as it (in a running task) and
        returned when it is not set."""
        value = Variable.get(key, default_var=None, deserialize_json=deserialize_json)
        if value is None:
            Variable.set(key, default, serialize_json=deserialize_json)
            return default
        return value


class Connection(_Connection):
    """headwater's :class:`~headwater.secrets.Connection`, with Airflow's class method to
    look one up."""

    @classmethod
    def get_connection_from_secrets(cls, conn_id: str) -> _Connection:
        """The connection ``conn_id`` from the secrets backends then the metadata database
        (a :class:`~headwater.secrets.ConnectionNotFoundError` names where it looked)."""
        return get_connection(conn_id)
