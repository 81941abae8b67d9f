"""Errors of the REST API and web UI as JSON: ``{"detail": message, "errors": [...]}``.

Every error answer has ``detail``, one line a person can read that names what was wrong,
and ``errors``, one ``{"field", "message"}`` per field at fault (empty when no field is).
A service error answers with :func:`headwater.services.errors.status_code`; a request that
does not fit its schema is a 422 naming each field (``body.conf.region``, ``query.limit``);
nothing a client sends is a 500.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from headwater.exceptions import HeadwaterError, ParamValidationError
from headwater.masking import is_sensitive_name, redact_text

logger = logging.getLogger(__name__)


class UnauthenticatedError(HeadwaterError):
    """No valid session or token came with the request (401)."""


class ForbiddenError(HeadwaterError):
    """The user is known but their role does not allow this (403)."""


class CsrfError(ForbiddenError):
    """A write authenticated by a session cookie came without its CSRF token (403)."""


class FieldError(BaseModel):
    field: str
    """Where in the request: ``body.conf.region``, ``query.limit``, ``path.dag_id``."""
    message: str


class ErrorBody(BaseModel):
    """What every error answer holds (4xx and 5xx alike)."""

    detail: str
    """One line a person can read, naming what was wrong."""
    errors: list[FieldError] = []


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "The request is invalid (a value the service refuses)",
        401: "No valid session or token",
        403: "The role may not do this",
        404: "No such resource, or one the role cannot see",
        409: "Clashes with what is stored",
        422: "The request does not fit its schema",
        429: "Too many failed logins: wait (Retry-After)",
        503: "The database cannot be used",
    }.items()
}
"""The error answers every route may give, in the OpenAPI spec, so clients (and the
schema checks of the test suite) know them."""


def error_body(detail: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"detail": detail, "errors": errors or []}


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


_PARAM_NAME = re.compile(r"param '([^']+)'")
_SHOWN_VALUE = re.compile(r" \(value: .*\)$", re.DOTALL)


def _param_error(exc: ParamValidationError) -> JSONResponse:
    """A 400 naming the param (``body.conf.region``), whatever route checked the conf (a
    trigger, a backfill); the refused value is left out of the message when the param's
    name is a secret's."""
    message = redact_text(str(exc))
    found = _PARAM_NAME.search(message)
    name = found.group(1) if found else None
    if name is not None and is_sensitive_name(name):
        message = _SHOWN_VALUE.sub("", message)
    field = f"body.conf.{name}" if name is not None else "body.conf"
    return JSONResponse(error_body(message, [{"field": field, "message": message}]), 400)


def _headwater_error(request: Request, exc: Exception) -> JSONResponse:
    from headwater.services.errors import status_code

    assert isinstance(exc, HeadwaterError)
    if isinstance(exc, ParamValidationError):
        return _param_error(exc)
    if isinstance(exc, UnauthenticatedError):
        return JSONResponse(
            error_body(str(exc)), status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    if isinstance(exc, ForbiddenError):
        return JSONResponse(error_body(str(exc)), status_code=403)
    return JSONResponse(error_body(str(exc)), status_code=status_code(exc))


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return JSONResponse(error_body(detail, errors), status_code=422)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("%s %s failed", request.method, request.url.path)
    return JSONResponse(error_body("internal error: see the server's log"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HeadwaterError, _headwater_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
