"""``AppriseNotifier``: the long tail of services (Telegram, Opsgenie, Pushover, Matrix,
ntfy, ...) through the `apprise <https://github.com/caronc/apprise>`_ library, installed
with the ``apprise`` extra (``pip install headwater[apprise]``); imported only when used."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from headwater.notifications.base import BaseNotifier, Context, NotificationError


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """apprise's plugins import modules that warn on newer Pythons (imghdr), as they load:
    not the user's concern, and not to fail a notification where warnings are errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _apprise() -> Any:
    try:
        with _quiet():
            import apprise
    except ImportError:
        raise NotificationError(
            "AppriseNotifier needs the apprise library: pip install 'headwater[apprise]'"
        ) from None
    return apprise


class AppriseNotifier(BaseNotifier):
    """Send through Apprise to ``urls`` (Apprise URLs such as ``tgram://bot/chat`` or
    ``json://host/path``), to the URLs of an Apprise config file (``config_path``), or to
    the Apprise URL kept in connection ``apprise_conn_id`` (its ``password``, so that it is
    masked, or ``host``). ``title`` and ``body`` are templates (default message without).
    Apprise sets its own network timeouts (``?cto=`` and ``?rto=`` on a URL change them).

    Example::

        AppriseNotifier(urls=["ntfy://ntfy.sh/data-alerts"], title="{{ notification.title }}")
    """

    template_fields = ("urls", "title", "body")

    def __init__(
        self,
        *,
        urls: str | Sequence[str] | None = None,
        config_path: str | None = None,
        apprise_conn_id: str | None = None,
        title: str | None = None,
        body: str | None = None,
        tag: str | None = None,
    ) -> None:
        super().__init__()
        if not (urls or config_path or apprise_conn_id):
            raise NotificationError("AppriseNotifier: give urls, config_path or apprise_conn_id")
        self.urls = [urls] if isinstance(urls, str) else list(urls or [])
        self.config_path = config_path
        self.apprise_conn_id = apprise_conn_id
        self.title = title
        self.body = body
        self.tag = tag
        self._apprise: Any = None

    def prepare(self) -> None:
        with _quiet():
            self._prepare()

    def _prepare(self) -> None:
        apprise = _apprise()
        urls = list(self.urls)
        if self.apprise_conn_id:
            from headwater.notifications.http_sending import lookup_connection

            conn = lookup_connection(self.apprise_conn_id)
            url = conn.password or conn.host
            if not url:
                raise NotificationError(
                    f"AppriseNotifier: connection {conn.conn_id!r} holds no Apprise URL "
                    "(set its password or host)"
                )
            urls.append(url)
        app = apprise.Apprise()
        for url in urls:
            if not app.add(url):
                raise NotificationError(f"AppriseNotifier: Apprise cannot use the URL {url!r}")
        if self.config_path:
            config = apprise.AppriseConfig()
            if not config.add(self.config_path):
                raise NotificationError(
                    f"AppriseNotifier: cannot read the Apprise config {self.config_path!r}"
                )
            app.add(config)
        self._apprise = app

    def notify(self, context: Context) -> None:
        if self._apprise is None:
            raise NotificationError("AppriseNotifier: notify() before prepare()")
        message = self.default_message(context)
        with _quiet():
            sent = self._apprise.notify(
                title=self.title or message.title, body=self.body or message.text, tag=self.tag
            )
        if not sent:
            raise NotificationError("Apprise could not deliver to one or more of its services")
