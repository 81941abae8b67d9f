"""Serving the app with uvicorn: in the foreground for ``headwater api-server``, or in a
background thread of another process for ``headwater standalone``.

:func:`serve` blocks until SIGINT or SIGTERM, which it takes as the ordinary way to stop:
uvicorn finishes the requests under way, closes the store, and the command exits 0. With
more than one worker, uvicorn starts that many processes, each building the app with
:func:`headwater.web.app.create_app` from the same settings (read from the environment,
as the parent read them). :func:`serve_in_thread` runs one worker in a thread. Example::

    handle = serve_in_thread(settings)
    print(f"headwater UI: {handle.url}")
    ...
    handle.stop()
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

# Re-exported: the UI's public address is built in one place, below every layer that links
# to the UI (notifications too).
from headwater.notifications.ui_links import server_url

if TYPE_CHECKING:
    import uvicorn

    from headwater.clock import Clock
    from headwater.settings import Settings

APP_FACTORY = "headwater.web.app:create_app"
"""What each worker process imports and calls when there are several."""

_START_WAIT_S = 30.0
_STOP_WAIT_S = 10


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve the API and UI until SIGINT/SIGTERM (blocks); returns normally after a stop."""
    import uvicorn

    if workers > 1:
        # uvicorn's supervisor stops its workers on SIGINT/SIGTERM and returns.
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            timeout_graceful_shutdown=_STOP_WAIT_S,
        )
        return
    from headwater.web.app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        timeout_graceful_shutdown=_STOP_WAIT_S,
    )
    server = uvicorn.Server(config)
    # uvicorn raises the stop signal again once it has shut down, to the handlers it found:
    # these make that a no-op, so a stop asked for ends the process with 0, not "killed".
    previous = {sig: signal.signal(sig, _ignore) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not server.started:
        from headwater.exceptions import HeadwaterError

        raise HeadwaterError(f"the server did not start on {host}:{port} (see the log above)")


def _ignore(signum: int, frame: object) -> None:
    """A stop signal that arrives after uvicorn has shut down: it asked for what happened."""


def _run_quietly(server: uvicorn.Server) -> None:
    """uvicorn exits the process (``SystemExit``) when it cannot bind: in a thread, that
    only ends the thread, which :func:`serve_in_thread` sees and reports."""
    try:
        server.run()
    except SystemExit:
        pass


def _taken(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (in use, not allowed), or None if it can."""
    try:
        with socket.create_server((host, port)):
            return None
    except OSError as exc:
        return os.strerror(exc.errno) if exc.errno else str(exc)


@dataclass
class ServerHandle:
    """A server running in a background thread; :meth:`stop` ends it."""

    url: str
    """Where it serves (``api.base_url`` if set)."""
    port: int
    """The port it listens on (the one chosen when asked for port 0)."""
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout_s: float = float(_STOP_WAIT_S)) -> None:
        """Finish the requests under way and stop; waits at most ``timeout_s`` for it."""
        self.server.should_exit = True
        self.thread.join(timeout=timeout_s)
        if self.thread.is_alive():  # a request that will not end: cut it
            self.server.force_exit = True
            self.thread.join(timeout=timeout_s)

    @property
    def running(self) -> bool:
        return self.thread.is_alive()


def serve_in_thread(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    clock: Clock | None = None,
) -> ServerHandle:
    """Start the API and UI on ``settings``'s database in a daemon thread of this process
    (one worker; ``host``/``port`` default to ``[api]``'s, port 0 picks a free one) and
    return once it accepts connections. Raises if it does not start (the port is taken,
    the database is not migrated); the reason is in the log."""
    import uvicorn

    from headwater.exceptions import HeadwaterError
    from headwater.web.app import create_app

    host = settings.api.host if host is None else host
    port = settings.api.port if port is None else port
    config = uvicorn.Config(
        create_app(settings, clock=clock),
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=_STOP_WAIT_S,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=_run_quietly, args=(server,), name="headwater-api-server", daemon=True
    )
    thread.start()
    ready = threading.Event()
    waited = 0.0
    while not server.started and thread.is_alive() and waited < _START_WAIT_S:
        ready.wait(0.01)  # bounded poll: the thread sets nothing we could wait on
        waited += 0.01
    if not server.started:
        server.should_exit = True
        thread.join(timeout=_STOP_WAIT_S)
        taken = _taken(host, port)
        if taken:
            raise HeadwaterError(
                f"the web UI and API cannot listen on {host}:{port}: {taken}; choose another "
                "port with api.port (HEADWATER__API__PORT), or stop what uses it"
            )
        raise HeadwaterError(f"the API server did not start on {host}:{port}: see the log")
    bound = server.servers[0].sockets[0].getsockname()[1]
    return ServerHandle(
        url=server_url(settings, host, bound), port=bound, server=server, thread=thread
    )
