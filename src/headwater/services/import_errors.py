"""The DAG files the DAG processor could not import, as stored in the database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.services._schema import IsoDatetime, Schema

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext


class ImportErrorOut(Schema):
    filename: str
    line: int | None
    message: str
    created_at: IsoDatetime
    """When the processor first saw the file fail this way."""


def list_import_errors(ctx: ServiceContext) -> list[ImportErrorOut]:
    return [
        ImportErrorOut(filename=e.filename, line=e.line, message=e.message, created_at=e.created_at)
        for e in ctx.store.list_import_errors()
    ]
