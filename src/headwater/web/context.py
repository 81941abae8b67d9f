"""The service context every request works on: opened once when the server starts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from headwater.services.context import ServiceContext


def service_context(request: Request) -> ServiceContext:
    """The :class:`~headwater.services.context.ServiceContext` of the app serving ``request``."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ServiceContext, Depends(service_context)]
"""A route's parameter ``ctx: Ctx`` is the app's service context."""
