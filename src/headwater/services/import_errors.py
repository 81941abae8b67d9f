"""The DAG files the DAG processor could not import, as stored in the database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.masking import redact_text
from headwater.services._schema import IsoDatetime, Page, Schema

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


class ImportErrorDetail(ImportErrorOut):
    """An import error with its traceback, as the REST API and the web UI show it."""

    traceback: str | None
    """The Python traceback of the failure (None for errors without one: a timeout)."""


class ImportErrorPage(Page[ImportErrorDetail]):
    files: int
    """How many DAG files fail (a file may have several errors)."""


def page_import_errors(
    ctx: ServiceContext, *, limit: int = 100, offset: int = 0
) -> ImportErrorPage:
    """The import errors by file, a page at a time, messages and tracebacks masked. DAG files
    carry no tags, so every logged-in user sees them all, whatever their role's tags."""
    from headwater.services.dag_catalog import check_page

    check_page(limit, offset)
    errors = ctx.store.list_import_errors()
    items = [
        ImportErrorDetail(
            filename=e.filename,
            line=e.line,
            message=redact_text(e.message),
            created_at=e.created_at,
            traceback=redact_text(e.stacktrace) if e.stacktrace else None,
        )
        for e in errors[offset : offset + limit]
    ]
    return ImportErrorPage(
        items=items,
        total=len(errors),
        limit=limit,
        offset=offset,
        files=len({e.filename for e in errors}),
    )
