"""Roles: levels, and limits to DAG tags (admin only)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import Field, field_validator

from headwater.services import users as service
from headwater.services._schema import Page, Schema
from headwater.services.users import RoleDeleted, RoleOut
from headwater.web.api.paging import Limit, Offset, page_of
from headwater.web.context import Ctx
from headwater.web.security import CurrentPrincipal, require_admin

router = APIRouter(tags=["roles"])


class RoleIn(Schema):
    name: str = Field(min_length=1, max_length=250)
    level: Literal["viewer", "op"]
    dag_tags: list[str] = Field(
        default_factory=list,
        max_length=100,
        description=(
            "The role sees only DAGs carrying one of these tags; empty: every DAG. One "
            "comma-separated string is taken too (what the UI's form sends)."
        ),
    )

    @field_validator("dag_tags", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [tag.strip() for tag in value.split(",") if tag.strip()]
        return value


@router.get("/roles", response_model=Page[RoleOut])
def list_roles(
    ctx: Ctx, principal: CurrentPrincipal, limit: Limit = 100, offset: Offset = 0
) -> Page[RoleOut]:
    """The built-in roles, then those made by admins."""
    require_admin(principal, "list roles")
    return page_of(service.list_roles(ctx), limit, offset)


@router.post("/roles", response_model=RoleOut, status_code=201)
def create_role(body: RoleIn, ctx: Ctx, principal: CurrentPrincipal) -> RoleOut:
    """Add a role of level viewer or op, limited to DAGs with given tags."""
    require_admin(principal, "add roles")
    return service.create_role(ctx, body.name, body.level, body.dag_tags)


@router.delete("/roles/{name}", response_model=RoleDeleted)
def delete_role(name: str, ctx: Ctx, principal: CurrentPrincipal) -> RoleDeleted:
    """Delete a role no user has; the built-in ones cannot be."""
    require_admin(principal, "delete roles")
    return service.delete_role(ctx, name)
