"""Variables: values tasks read as ``var.value.<key>`` (text) or ``var.json.<key>``.

A listing shows the value of a variable whose key looks secret (``api_token``,
``db_password``: :func:`headwater.masking.is_sensitive_name`) as ``***``; asking for that one
variable (:func:`get_variable`) gives its value. :func:`export_variables` writes every
value, in clear, to a file only its owner can read; :func:`import_variables` reads it back.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.services._schema import Schema

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext


class VariableOut(Schema):
    key: str
    value: str
    description: str | None


class VariableValue(Schema):
    key: str
    value: str


class VariableDeleted(Schema):
    key: str
    deleted: bool = True


class VariablesExported(Schema):
    path: str
    format: str
    count: int


class VariablesImported(Schema):
    path: str
    added: list[str]
    replaced: list[str]


def get_variable(ctx: ServiceContext, key: str) -> VariableValue:
    """The value of ``key``; not found when there is none."""
    from headwater.operations import get_variable as get_variable_op

    return VariableValue(key=key, value=get_variable_op(ctx.store, key))


def set_variable(
    ctx: ServiceContext, key: str, value: str, description: str | None = None
) -> VariableOut:
    """Create or change ``key``; ``description`` None keeps the stored one. Invalid: a bad
    key, or a value that is not text."""
    from headwater.operations import set_variable as set_variable_op

    row = set_variable_op(ctx.store, key, value, description)
    return VariableOut(key=row.key, value=row.value, description=row.description)


def list_variables(ctx: ServiceContext) -> list[VariableOut]:
    """Every variable by key; values of keys that look secret are ``***``."""
    from headwater.masking import redact

    return [
        VariableOut(key=v.key, value=redact(v.value, v.key), description=v.description)
        for v in ctx.store.list_variables()
    ]


def delete_variable(ctx: ServiceContext, key: str) -> VariableDeleted:
    """Delete ``key``; not found when there is none."""
    from headwater.operations import delete_variable as delete_variable_op

    delete_variable_op(ctx.store, key)
    return VariableDeleted(key=key)


def export_variables(ctx: ServiceContext, path: Path, fmt: str | None) -> VariablesExported:
    """Write every variable to ``path`` as ``{key: value}`` (JSON or YAML, by ``fmt`` or the
    extension), values in clear: the file gets mode 0600."""
    from headwater.services.config_files import write_private

    data = {v.key: v.value for v in ctx.store.list_variables()}
    kind = write_private(path, data, fmt)
    return VariablesExported(path=str(path), format=kind, count=len(data))


def import_variables(
    ctx: ServiceContext, path: Path, fmt: str | None, *, overwrite: bool = False
) -> VariablesImported:
    """Set the variables of a ``{key: value}`` file; a value that is not text (a number, a
    list, an object) is stored as its JSON text, for ``var.json``. Every entry is checked
    first (each bad one named); existing keys are a conflict unless ``overwrite``. Then all
    are set in one transaction, or none."""
    from headwater.operations import ConflictError, InvalidRequestError
    from headwater.operations._stored import require_name
    from headwater.services.config_files import bad_entries, read_object

    entries = read_object(path, fmt)
    values: dict[str, str] = {}
    problems: list[str] = []
    for key, value in entries.items():
        try:
            values[require_name(str(key), "variable key")] = _as_text(str(key), value)
        except InvalidRequestError as exc:
            problems.append(str(exc))
    if problems:
        raise InvalidRequestError(bad_entries(path, "variable", problems))
    existing = {v.key for v in ctx.store.list_variables()}
    clashes = sorted(key for key in values if key in existing)
    if clashes and not overwrite:
        raise ConflictError(
            f"{path}: variable(s) {', '.join(clashes)} exist already; none imported "
            "(--overwrite replaces them)"
        )
    with ctx.store.unit_of_work() as unit:
        for key, value in values.items():
            unit.set_variable(key, value)
    return VariablesImported(
        path=str(path), added=sorted(k for k in values if k not in existing), replaced=clashes
    )


def _as_text(key: str, value: Any) -> str:
    from headwater.operations import InvalidRequestError
    from headwater.strict_json import InvalidJsonError, dumps

    if isinstance(value, str):
        return value
    if value is None:
        raise InvalidRequestError(f"variable {key!r}: the value is empty (null)")
    try:
        return dumps(value)
    except (InvalidJsonError, TypeError, ValueError) as exc:
        raise InvalidRequestError(f"variable {key!r}: the value is not JSON: {exc}") from None
