"""Log in and out with a session (the UI, or a script that prefers cookies), and who am I.

``POST /auth/login`` answers the user and the session's CSRF token and sets the session
cookie (HttpOnly, SameSite=Lax, Secure per ``api.secure_cookies``); failed logins are
limited (429 with ``Retry-After``) and never say whether the user exists (401).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from headwater.auth.principals import Level, Principal
from headwater.services._schema import Schema
from headwater.services.context import ServiceContext
from headwater.web.context import Ctx
from headwater.web.errors import error_body
from headwater.web.security import SESSION_COOKIE, CurrentPrincipal

router = APIRouter(tags=["auth"])


class LoginIn(Schema):
    username: str = Field(min_length=1, max_length=250)
    password: str = Field(min_length=1, max_length=4096)


class MeOut(Schema):
    """Who is logged in, with what they may do, and the CSRF token of their session (None
    for a token: a request with a bearer token needs none)."""

    username: str
    role: str
    level: Level
    dag_tags: list[str] | None
    csrf_token: str | None


class LoggedOut(Schema):
    logged_out: bool
    """Whether a session ended (a bearer token has none)."""


def me_of(principal: Principal, csrf_token: str | None) -> MeOut:
    return MeOut(
        username=principal.username,
        role=principal.role,
        level=principal.level,
        dag_tags=sorted(principal.dag_tags) if principal.dag_tags is not None else None,
        csrf_token=csrf_token,
    )


def secure_cookie(ctx: ServiceContext, request: Request) -> bool:
    """Whether the session cookie is marked Secure (``api.secure_cookies``)."""
    setting = ctx.settings.api.secure_cookies
    return setting == "always" or (setting == "auto" and request.url.scheme == "https")


def set_session_cookie(
    response: Response, ctx: ServiceContext, request: Request, value: str
) -> None:
    """The session cookie: HttpOnly (scripts never read it), SameSite=Lax (other sites'
    forms do not send it), for the whole site; it lasts while the browser is open, and the
    server ends the session ``api.session_lifetime_s`` after its last use."""
    response.set_cookie(
        SESSION_COOKIE,
        value,
        httponly=True,
        samesite="lax",
        path="/",
        secure=secure_cookie(ctx, request),
    )


def client_address(request: Request) -> str | None:
    return request.client.host if request.client is not None else None


@router.post(
    "/auth/login",
    response_model=MeOut,
    responses={
        401: {"description": "Wrong username or password"},
        429: {"description": "Too many failed logins"},
    },
)
async def login(body: LoginIn, request: Request, ctx: Ctx) -> Response:
    """Log in: sets the session cookie and answers the user with the session's CSRF token
    (send it as ``X-CSRF-Token`` with every write the cookie authenticates)."""
    from headwater.services.sessions import LoginFailedError, TooManyLoginsError
    from headwater.services.sessions import login as start_session

    try:
        started = await run_in_threadpool(
            start_session, ctx, body.username, body.password, client_address(request)
        )
    except TooManyLoginsError as exc:
        return JSONResponse(
            error_body(str(exc)), status_code=429, headers={"Retry-After": str(exc.retry_after_s)}
        )
    except LoginFailedError as exc:
        return JSONResponse(error_body(str(exc)), status_code=401)
    response = JSONResponse(me_of(started.principal, started.csrf_token).to_json())
    set_session_cookie(response, ctx, request, started.cookie)
    return response


@router.post("/auth/logout", response_model=LoggedOut)
def logout(request: Request, ctx: Ctx, principal: CurrentPrincipal) -> Response:
    """End this session (its cookie stops working) and delete the cookie."""
    from headwater.services.sessions import logout as end_session

    cookie = request.cookies.get(SESSION_COOKIE)
    ended = principal.via == "session" and cookie is not None and end_session(ctx, cookie)
    response = JSONResponse(LoggedOut(logged_out=ended).to_json())
    if principal.via == "session":
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/auth/me", response_model=MeOut)
def me(request: Request, principal: CurrentPrincipal) -> MeOut:
    """Who this request is authenticated as."""
    csrf_token = getattr(request.state, "csrf_token", None) if principal.via == "session" else None
    return me_of(principal, csrf_token)
