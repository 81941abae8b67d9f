"""The login and logout pages: a plain HTML form, no script needed.

``GET /login?next=/dags/etl`` shows the form; ``POST /login`` checks the name and password
(the same service as ``POST /api/v1/auth/login``, with the same rate limit), sets the
session cookie and sends the browser on to ``next``, which must be a path of this site (a
``next`` pointing elsewhere is ignored: a link to our login page must not send a user to
another site after they log in). ``POST /logout`` needs the session's CSRF token as the
form field ``csrf_token``, ends the session and goes back to the login page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from headwater.auth.principals import Principal
from headwater.web.api.auth import client_address, set_session_cookie
from headwater.web.context import Ctx
from headwater.web.security import SESSION_COOKIE, authenticate
from headwater.web.ui.templating import render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """``target`` when it is a path of this site (one leading ``/``, no scheme, no host,
    no backslash or control character), else ``/``."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or not target.isprintable()
        or len(target) > 2000
    ):
        return "/"
    return target


@router.get("/login")
def login_page(
    request: Request,
    principal: Annotated[Principal | None, Depends(authenticate)],
    next: str | None = None,
) -> Response:
    """The login form; a logged-in user goes straight on to ``next``."""
    target = safe_next(next)
    if principal is not None:
        return RedirectResponse(target, status_code=303)
    return render(request, "auth_login.html", None, {"next": target, "username": ""})


@router.post("/login")
async def log_in(
    request: Request,
    ctx: Ctx,
    username: Annotated[str, Form(max_length=250)] = "",
    password: Annotated[str, Form(max_length=4096)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the form; on success set the session cookie and go on to ``next`` (303)."""
    from headwater.services.sessions import LoginFailedError, TooManyLoginsError, login

    target = safe_next(next)
    values = {"next": target, "username": username}
    if not username or not password:
        values["error"] = "Enter your username and password."
        return render(request, "auth_login.html", None, values, status_code=400)
    try:
        started = await run_in_threadpool(login, ctx, username, password, client_address(request))
    except TooManyLoginsError as exc:
        values["error"] = f"Too many failed logins. Try again in {exc.retry_after_s} second(s)."
        response = render(request, "auth_login.html", None, values, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except LoginFailedError:
        values["error"] = "Wrong username or password."
        return render(request, "auth_login.html", None, values, status_code=401)
    redirect = RedirectResponse(target, status_code=303)
    set_session_cookie(redirect, ctx, request, started.cookie)
    return redirect


@router.post("/logout")
def log_out(
    request: Request,
    ctx: Ctx,
    principal: Annotated[Principal | None, Depends(authenticate)],
) -> Response:
    """End this session (the CSRF form field is checked by authentication) and go to the
    login page; a session that ended already just goes there."""
    from headwater.services.sessions import logout

    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and principal is not None and principal.via == "session":
        logout(ctx, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response
