"""Variables: values tasks read as ``var.value.<key>`` (text) or ``var.json.<key>``.

A listing shows the value of a variable whose key looks secret (``api_token``,
``db_password``: :func:`headwater.masking.is_sensitive_name`) as ``***``; asking for that one
variable (:func:`get_variable`, the CLI's ``variables get``) gives its value. What the REST
API and UI answer (:func:`describe_variable`, :func:`create_variable`,
:func:`update_variable`, :func:`page_variables`) is always masked, and an update that sends
``***`` back for such a key keeps the stored value (an edit form shows the mask, and saving
it unchanged must not store the mask). :func:`export_variables` writes every
value, in clear, to a file only its owner can read; :func:`import_variables` reads it back.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from headwater.db.models import ID_LENGTH
from headwater.operations._stored import NAME_PATTERN
from headwater.services._schema import Page, Schema

MAX_VALUE_LENGTH = 1_000_000
"""The longest value the API accepts (characters): a variable is read by every task that
names it, so a bigger blob belongs in a file or an object store."""

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext


class VariableOut(Schema):
    key: str
    value: str
    description: str | None


class VariableIn(Schema):
    """A variable to create."""

    key: str = Field(min_length=1, max_length=ID_LENGTH, pattern=NAME_PATTERN)
    value: str = Field(max_length=MAX_VALUE_LENGTH)
    description: str | None = Field(default=None, max_length=10_000)


class VariableChange(Schema):
    """What to change in a variable; a field left out keeps its value, and so does a value
    of ``***`` for a key that looks secret."""

    value: str | None = Field(default=None, max_length=MAX_VALUE_LENGTH)
    description: str | None = Field(default=None, max_length=10_000)


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


def _shown(key: str, value: str, description: str | None) -> VariableOut:
    from headwater.masking import redact

    return VariableOut(key=key, value=redact(value, key), description=description)


def describe_variable(ctx: ServiceContext, key: str) -> VariableOut:
    """Variable ``key`` as it may be shown (masked); not found when there is none."""
    from headwater.operations import NotFoundError

    for row in ctx.store.list_variables():
        if row.key == key:
            return _shown(row.key, row.value, row.description)
    raise NotFoundError(f"no variable {key!r}")


def create_variable(ctx: ServiceContext, request: VariableIn) -> VariableOut:
    """Create a variable; conflict when ``key`` exists (change it instead). The answer is
    masked."""
    from headwater.operations import ConflictError

    if ctx.store.get_variable(request.key) is not None:
        raise ConflictError(f"variable {request.key!r} already exists; change it instead")
    row = set_variable(ctx, request.key, request.value, request.description)
    return _shown(row.key, row.value, row.description)


def update_variable(ctx: ServiceContext, key: str, change: VariableChange) -> VariableOut:
    """Change the value or description of ``key``; not found when there is none. The
    answer is masked."""
    from headwater.masking import MASK, is_sensitive_name
    from headwater.operations import get_variable as get_variable_op

    stored = get_variable_op(ctx.store, key)
    value = change.value
    if value is None or (value == MASK and is_sensitive_name(key)):
        value = stored
    row = set_variable(ctx, key, value, change.description)
    return _shown(row.key, row.value, row.description)


def page_variables(
    ctx: ServiceContext, *, search: str | None = None, limit: int = 100, offset: int = 0
) -> Page[VariableOut]:
    """One page of the variables by key, masked; ``search`` keeps those whose key or
    description holds it (any case). Values are not searched: a search must not tell
    what a secret holds."""
    needle = (search or "").casefold()
    rows = [
        v
        for v in ctx.store.list_variables()
        if not needle or needle in v.key.casefold() or needle in (v.description or "").casefold()
    ]
    items = [_shown(v.key, v.value, v.description) for v in rows[offset : offset + limit]]
    return Page[VariableOut](items=items, total=len(rows), limit=limit, offset=offset)


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
