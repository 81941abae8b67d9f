"""Users and their roles (admin only)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from headwater.services import users as service
from headwater.services._schema import Page, Schema
from headwater.services.users import UserDeleted, UserOut
from headwater.web.api.paging import Limit, Offset, page_of
from headwater.web.context import Ctx
from headwater.web.security import CurrentPrincipal, require_admin

router = APIRouter(tags=["users"])


class UserIn(Schema):
    username: str = Field(min_length=1, max_length=250)
    password: str = Field(max_length=1024, description="8 characters or more.")
    role: str = Field(min_length=1, max_length=250, description="admin, op, viewer or a made role.")


class UserPatch(Schema):
    role: str | None = Field(default=None, min_length=1, max_length=250)
    disabled: bool | None = None


class PasswordIn(Schema):
    password: str = Field(max_length=1024, description="8 characters or more.")


@router.get("/users", response_model=Page[UserOut])
def list_users(
    ctx: Ctx, principal: CurrentPrincipal, limit: Limit = 100, offset: Offset = 0
) -> Page[UserOut]:
    """Every user, by name, with their role's level and tags."""
    require_admin(principal, "list users")
    return page_of(service.list_users(ctx), limit, offset)


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, ctx: Ctx, principal: CurrentPrincipal) -> UserOut:
    """Add a user with a password and a role."""
    require_admin(principal, "add users")
    return service.create_user(ctx, body.username, body.password, body.role)


@router.get("/users/{username}", response_model=UserOut)
def get_user(username: str, ctx: Ctx, principal: CurrentPrincipal) -> UserOut:
    require_admin(principal, "read users")
    return service.get_user(ctx, username)


@router.patch("/users/{username}", response_model=UserOut)
def update_user(username: str, body: UserPatch, ctx: Ctx, principal: CurrentPrincipal) -> UserOut:
    """Give a user another role, or disable (enable) them."""
    require_admin(principal, "change users")
    return service.update_user(ctx, username, role=body.role, disabled=body.disabled)


@router.delete("/users/{username}", response_model=UserDeleted)
def delete_user(username: str, ctx: Ctx, principal: CurrentPrincipal) -> UserDeleted:
    """Delete a user with their tokens and sessions."""
    require_admin(principal, "delete users")
    return service.delete_user(ctx, username)


@router.post("/users/{username}/password", response_model=UserOut)
def reset_password(
    username: str, body: PasswordIn, ctx: Ctx, principal: CurrentPrincipal
) -> UserOut:
    """Give a user a new password; their sessions end."""
    require_admin(principal, "reset passwords")
    return service.reset_password(ctx, username, body.password)
