"""Admin pages of accounts: users and roles (admins), API tokens (everyone's own; an admin
sees all).

The pages read through :mod:`headwater.services` and change nothing themselves: their forms
and buttons call the REST API (``data-api-form`` / ``data-api-action`` of the shell's
``app.js``, with the session's CSRF token). A new token is shown once, by ``auth.js``,
which puts the API's answer in the page as text; it is never in a URL or a stored page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from headwater.services import tokens as token_service
from headwater.services import users as user_service
from headwater.web.context import Ctx
from headwater.web.security import require_admin
from headwater.web.ui.templating import PagePrincipal, render

router = APIRouter(include_in_schema=False)

EXPIRY_CHOICES = ((None, "Never"), (30, "30 days"), (90, "90 days"), (365, "1 year"))


@router.get("/admin/users")
def users_page(request: Request, ctx: Ctx, principal: PagePrincipal) -> Response:
    """Users with their roles, and the roles; forms to add, change and delete them."""
    require_admin(principal, "manage users")
    roles = user_service.list_roles(ctx)
    return render(
        request,
        "auth_users.html",
        principal,
        {"users": user_service.list_users(ctx), "roles": roles},
    )


@router.get("/admin/tokens")
def tokens_page(request: Request, ctx: Ctx, principal: PagePrincipal) -> Response:
    """Your API tokens (an admin: everyone's), a form to make one, and revoke buttons."""
    whose = None if principal.is_admin else principal.username
    return render(
        request,
        "auth_tokens.html",
        principal,
        {
            "tokens": token_service.list_tokens(ctx, whose),
            "expiry_choices": EXPIRY_CHOICES,
            "usernames": [u.username for u in user_service.list_users(ctx)]
            if principal.is_admin
            else [],
        },
    )
