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

from headwater.auth.principals import Level, Principal
from headwater.operations.errors import NotFoundError
from headwater.services.context import ServiceContext
from headwater.shown_text import quoted
from headwater.web.context import Ctx
from headwater.web.errors import ForbiddenError, UnauthenticatedError

SESSION_COOKIE = "headwater_session"
CSRF_HEADER = "X-CSRF-Token"


def authenticate(request: Request, ctx: Ctx) -> Principal | None:
    """The user of this request, from its bearer token or session cookie, or None without
    valid credentials. A write authenticated by the cookie without the session's CSRF token
    raises :class:`~headwater.web.errors.CsrfError` (403). A session's CSRF token is put in
    ``request.state.csrf_token`` for the page being rendered."""
    return None


def current_principal(
    request: Request, principal: Annotated[Principal | None, Depends(authenticate)]
) -> Principal:
    """The authenticated user; :class:`UnauthenticatedError` (401) without one."""
    if principal is None:
        raise UnauthenticatedError("log in, or send an API token: Authorization: Bearer <token>")
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
