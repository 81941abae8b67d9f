"""Links into the web UI, for people who read a message away from it (alerts, the CLI).

One place builds the UI's public address, so the server's printed URL and the links in
notifications agree: ``[api] base_url`` when set (behind a proxy), else
``http://<api.host>:<api.port>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    from headwater.settings import Settings


def server_url(settings: Settings, host: str, port: int) -> str:
    """Where people reach the UI: ``api.base_url`` when set, else ``http://host:port``
    (a wildcard address shown as 127.0.0.1, an IPv6 address in brackets)."""
    if settings.api.base_url:
        return settings.api.base_url.rstrip("/")
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def ui_base_url(settings: Settings) -> str:
    """The UI's address from the settings alone (``[api] base_url``, host and port)."""
    return server_url(settings, settings.api.host, settings.api.port)


def _part(value: str) -> str:
    return quote(value, safe="")


def attempt_url(
    base: str,
    dag_id: str,
    run_id: str,
    task_id: str,
    *,
    map_index: int = -1,
    try_number: int | None = None,
) -> str:
    """The page of one attempt: ``<base>/dags/{dag}/runs/{run}/tasks/{task}?map_index=N
    &try_number=N``, each part URL-quoted."""
    query: dict[str, int] = {"map_index": map_index}
    if try_number is not None:
        query["try_number"] = try_number
    path = f"/dags/{_part(dag_id)}/runs/{_part(run_id)}/tasks/{_part(task_id)}"
    return f"{base.rstrip('/')}{path}?{urlencode(query)}"


def run_url(base: str, dag_id: str, run_id: str) -> str:
    """The DAG's grid with the panel of one run open."""
    return f"{base.rstrip('/')}/dags/{_part(dag_id)}?{urlencode({'run_id': run_id})}"
