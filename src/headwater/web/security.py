"""Who a request comes from, and whether they may do what it asks.

Routes take ``principal: CurrentPrincipal`` and ``ctx: Ctx`` (the API) and call the
checks below before they read or change anything:

* :func:`require_dag_read` / :func:`require_dag_operate` for anything under one DAG: a DAG
  the principal's role cannot see answers 404, exactly as a DAG that does not exist; a DAG
  it sees but may not operate answers 403.
* :func:`require_globals_write` for pools, variables and connections; :func:`require_admin`
  for users, roles and other people's tokens.
* :func:`visible_dag_ids` to filter lists.

A request is authenticated by a session cookie (the UI's login) or an ``Authorization:
Bearer <token>`` header. A write (POST, PUT, PATCH, DELETE) authenticated by the cookie must
also carry the session's CSRF token in the ``X-CSRF-Token`` header (or a ``csrf_token`` form
field): a page of another site can make a browser send the cookie, never the token.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from headwater.auth.principals import Level, Principal
from headwater.auth.secrets import same_secret
from headwater.operations.actors import act_as_for_this_context
from headwater.operations.errors import NotFoundError
from headwater.services.context import ServiceContext
from headwater.shown_text import quoted
from headwater.web.context import Ctx
from headwater.web.errors import CsrfError, ForbiddenError, UnauthenticatedError

SESSION_COOKIE = "headwater_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
"""The form field of the CSRF token, for the UI's plain HTML forms (logout)."""
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header ("" for another scheme)."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


async def _sent_csrf_token(request: Request) -> str | None:
    given = request.headers.get(CSRF_HEADER)
    if given is not None:
        return given
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def authenticate(request: Request, ctx: Ctx) -> Principal | None:
    """The user of this request, from its bearer token or session cookie, or None without
    valid credentials. A write authenticated by the cookie without the session's CSRF token
    raises :class:`~headwater.web.errors.CsrfError` (403). A session's CSRF token is put in
    ``request.state.csrf_token`` for the page being rendered.

    A request with an ``Authorization`` header is judged by it alone (a bad token is not
    saved by a cookie), and needs no CSRF token: a browser never adds the header by itself.
    """
    from headwater.services.sessions import principal_of_session
    from headwater.services.tokens import principal_of_token

    token = _bearer(request)
    if token is not None:
        return await run_in_threadpool(principal_of_token, ctx, token) if token else None
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    found = await run_in_threadpool(principal_of_session, ctx, cookie)
    if found is None:
        return None
    principal, csrf_token = found
    request.state.csrf_token = csrf_token
    if request.method in WRITE_METHODS:
        sent = await _sent_csrf_token(request)
        if sent is None or not same_secret(sent, csrf_token):
            raise CsrfError(
                f"this change needs the session's CSRF token in the {CSRF_HEADER} header "
                f"(or a {CSRF_FIELD} form field); reload the page and try again"
            )
    return principal


async def current_principal(
    request: Request, principal: Annotated[Principal | None, Depends(authenticate)]
) -> Principal:
    """The authenticated user; :class:`UnauthenticatedError` (401) without one. What the
    request changes is logged in the event log as done by this user."""
    if principal is None:
        raise UnauthenticatedError("log in, or send an API token: Authorization: Bearer <token>")
    act_as_for_this_context(principal.username)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
"""A route's parameter ``principal: CurrentPrincipal`` is the authenticated user."""


def require_level(principal: Principal, level: Level, what: str) -> None:
    if not principal.at_least(level):
        raise ForbiddenError(
            f"role {quoted(principal.role)} may not {what}: it needs the {level} level"
        )


def require_admin(principal: Principal, what: str) -> None:
    require_level(principal, "admin", what)


def require_globals_write(principal: Principal, what: str) -> None:
    """Pools, variables and connections: op or admin, in a role not limited to tags."""
    require_level(principal, "op", what)
    if not principal.can_manage_globals:
        raise ForbiddenError(
            f"role {quoted(principal.role)} is limited to DAGs tagged "
            f"{', '.join(sorted(principal.dag_tags or ()))}: it may not {what}"
        )


def _dag_tags(ctx: ServiceContext, dag_id: str) -> list[str]:
    row = ctx.store.get_dag(dag_id)
    if row is None:
        raise NotFoundError(f"no DAG {quoted(dag_id)}")
    return list(row.tags or ())


def require_dag_read(ctx: ServiceContext, principal: Principal, dag_id: str) -> None:
    """Not found (404) unless the DAG is stored and the principal's role sees it."""
    if not principal.can_read_dag(_dag_tags(ctx, dag_id)):
        raise NotFoundError(f"no DAG {quoted(dag_id)}")


def require_dag_operate(
    ctx: ServiceContext, principal: Principal, dag_id: str, what: str = "operate DAGs"
) -> None:
    """As :func:`require_dag_read`, then forbidden (403) below the op level."""
    require_dag_read(ctx, principal, dag_id)
    require_level(principal, "op", what)


def visible_dag_ids(principal: Principal, dags: Iterable[tuple[str, Iterable[str]]]) -> set[str]:
    """The ids of ``(dag_id, tags)`` pairs the principal sees."""
    return {dag_id for dag_id, tags in dags if principal.can_read_dag(tags)}
