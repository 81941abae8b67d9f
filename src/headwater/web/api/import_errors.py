"""Import errors: the DAG files the DAG processor could not import.

Files carry no tags, so every logged-in user sees every import error, whatever their
role's tags (a DAG's tags are known only once its file imports).
"""

from __future__ import annotations

from fastapi import APIRouter

from headwater.services.import_errors import ImportErrorPage, page_import_errors
from headwater.web.api.paging import Limit, Offset
from headwater.web.context import Ctx
from headwater.web.security import CurrentPrincipal

router = APIRouter(tags=["import errors"])


@router.get("/import-errors", response_model=ImportErrorPage)
def get_import_errors(
    ctx: Ctx, principal: CurrentPrincipal, limit: Limit = 100, offset: Offset = 0
) -> ImportErrorPage:
    """The import errors by file: line, message and traceback."""
    return page_import_errors(ctx, limit=limit, offset=offset)
