"""Who is acting: the name the event log records with each change (read it through
:mod:`headwater.operations.actors`).

The REST API sets it to the logged-in user for each request, the CLI to ``cli:<OS user>``
when a command starts; the operations read it with :func:`current_actor` when they record an
event, so no function in between has to pass it along. The scheduler sets none (its events
have no actor). A context variable: each request (each asyncio task, each thread started
with its context) has its own. It lives at the bottom of the layers, importing nothing, so
the CLI can set it when any command starts without importing the operations. Example::

    with acting_as("alice"):
        trigger_run(store, "etl", now=clock.now())   # the 'trigger' event says alice
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_ACTOR: ContextVar[str | None] = ContextVar("headwater_actor", default=None)


def current_actor() -> str | None:
    """The name of who is acting now, or None (the scheduler, or nobody said)."""
    return _ACTOR.get()


@contextmanager
def acting_as(name: str | None) -> Iterator[None]:
    """Events recorded inside the block are ``name``'s; the previous actor comes back after."""
    token = _ACTOR.set(name)
    try:
        yield
    finally:
        _ACTOR.reset(token)


def act_as_for_this_context(name: str | None) -> None:
    """Make ``name`` the actor for the rest of the current context: a request's, whose context
    ends with the request (the REST API's authentication calls it)."""
    _ACTOR.set(name)
