"""Rendering pages: the Jinja2 environment (autoescaped), and who the page is for.

A page route takes ``principal: PagePrincipal``: without a valid
session the browser is sent to ``/login?next=<this page>`` instead of getting a 401. It
answers ``render(request, "dag.html", principal, {...})``; every template extends
``base.html`` and fills its blocks ``title``, ``content`` and ``scripts`` (``<script
src=...>`` tags of the app's own files under ``/static``; never inline code, which the
Content-Security-Policy would block anyway).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from headwater.auth.principals import Principal
from headwater.exceptions import HeadwaterError
from headwater.web.security import authenticate
from headwater.web.ui.state_legend import STATE_LEGEND

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
"""Autoescaped (``.html``): a value shown in a page is text, whatever it holds."""
TEMPLATES.env.globals["state_legend"] = STATE_LEGEND


class LoginRequired(HeadwaterError):
    """A page was asked for without a valid session: the browser goes to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__("log in to see this page")
        self.next_url = next_url


def page_principal(
    request: Request, principal: Annotated[Principal | None, Depends(authenticate)]
) -> Principal:
    """The logged-in user of a page request; otherwise a redirect to the login page."""
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    request.state.principal = principal  # for an error page rendered later in the request
    return principal


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """``template`` rendered with ``context``, ``request``, ``principal`` (None on the login
    page) and ``csrf_token`` (the session's, which authentication puts in
    ``request.state.csrf_token``; ``base.html`` writes it in ``<meta name="csrf-token">``
    for the scripts)."""
    csrf_token = getattr(request.state, "csrf_token", "")
    values = {"principal": principal, "csrf_token": csrf_token, **(context or {})}
    return TEMPLATES.TemplateResponse(request, template, values, status_code=status_code)


def _login_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)


def install_login_redirect(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _login_redirect)


PagePrincipal = Annotated[Principal, Depends(page_principal)]
"""A page's parameter ``principal: PagePrincipal`` is the logged-in user."""
