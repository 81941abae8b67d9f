"""API tokens: everyone lists, makes and revokes their own; an admin anyone's."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import Field

from headwater.services import tokens as service
from headwater.services._schema import Page, Schema
from headwater.services.tokens import MAX_EXPIRY_DAYS, TokenCreated, TokenOut, TokenRevoked
from headwater.web.api.paging import Limit, Offset, page_of
from headwater.web.context import Ctx
from headwater.web.security import CurrentPrincipal, require_admin

router = APIRouter(tags=["tokens"])


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100, description="What the token is for.")
    expires_in_days: int | None = Field(default=None, ge=1, le=MAX_EXPIRY_DAYS)
    username: str | None = Field(
        default=None, description="Whose token (an admin's choice); default: your own."
    )


@router.get("/tokens", response_model=Page[TokenOut])
def list_tokens(
    ctx: Ctx,
    principal: CurrentPrincipal,
    username: str | None = Query(default=None, description="Only this user's (admin)."),
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[TokenOut]:
    """Your tokens; an admin sees everyone's (or ``username``'s). Never the tokens
    themselves, only their first characters."""
    if principal.is_admin:
        whose = username
    else:
        if username is not None and username != principal.username:
            require_admin(principal, "list other users' tokens")
        whose = principal.username
    return page_of(service.list_tokens(ctx, whose), limit, offset)


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(body: TokenIn, ctx: Ctx, principal: CurrentPrincipal) -> TokenCreated:
    """A new token, answered this once: keep it; only its hash is stored."""
    username = body.username or principal.username
    if username != principal.username:
        require_admin(principal, "make tokens for other users")
    return service.create_token(ctx, username, body.name, body.expires_in_days)


@router.delete("/tokens/{token_id}", response_model=TokenRevoked)
def revoke_token(token_id: str, ctx: Ctx, principal: CurrentPrincipal) -> TokenRevoked:
    """Revoke a token at once (yours; an admin's choice of anyone's)."""
    owner = None if principal.is_admin else principal.username
    return service.revoke_token(ctx, token_id, owner=owner)
