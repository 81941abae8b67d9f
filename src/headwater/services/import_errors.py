"""The DAG files the DAG processor could not import, as stored in the database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.masking import redact_text
from headwater.services._schema import IsoDatetime, Page, Schema

if TYPE_CHECKING:
    from headwater.db.rows import ImportErrorRow
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
    items = [_detail(e) for e in errors[offset : offset + limit]]
    return ImportErrorPage(
        items=items,
        total=len(errors),
        limit=limit,
        offset=offset,
        files=len({e.filename for e in errors}),
    )


def _detail(error: ImportErrorRow) -> ImportErrorDetail:
    """The DAG processor stores an import error's message as one line saying what went
    wrong, then the traceback of the file's own frames: they are shown apart."""
    first, _, rest = error.message.partition("\n")
    traceback = error.stacktrace or rest.strip("\n") or None
    return ImportErrorDetail(
        filename=error.filename,
        line=error.line,
        message=redact_text(first),
        created_at=error.created_at,
        traceback=redact_text(traceback) if traceback else None,
    )
