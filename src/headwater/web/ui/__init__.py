"""The web UI: pages rendered on the server from Jinja2 templates, with the app's own small
scripts and stylesheet (``static/``); no Node.js, no build step, no third-party code.

Pages read through :mod:`headwater.services`, like the API, and change things by calling the
API from their scripts (with the session's CSRF token). A page that needs live updates asks
for a fragment of itself again (``?fragment=...``) every few seconds and swaps it in; the
fragment is rendered, and escaped, by the same templates.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def mount_ui(app: FastAPI) -> None:
    """Add the UI's pages and static files to ``app``."""
    from headwater.web.ui import (
        admin,
        admin_accounts,
        asset_pages,
        backfill_pages,
        dag_pages,
        deadline_pages,
        home,
        login,
        task_pages,
        trigger_pages,
    )
    from headwater.web.ui.shell_errors import install_html_errors
    from headwater.web.ui.templating import install_login_redirect

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    pages = (
        login,
        home,
        dag_pages,
        trigger_pages,
        backfill_pages,
        asset_pages,
        deadline_pages,
        task_pages,
        admin,
        admin_accounts,
    )
    for module in pages:
        app.include_router(module.router)
    install_html_errors(app)
    install_login_redirect(app)
