"""Variables: values tasks read as ``var.value.<key>`` (text) or ``var.json.<key>``."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    return [
        VariableOut(key=v.key, value=v.value, description=v.description)
        for v in ctx.store.list_variables()
    ]


def delete_variable(ctx: ServiceContext, key: str) -> VariableDeleted:
    """Delete ``key``; not found when there is none."""
    from headwater.operations import delete_variable as delete_variable_op

    delete_variable_op(ctx.store, key)
    return VariableDeleted(key=key)
