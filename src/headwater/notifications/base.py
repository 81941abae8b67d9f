"""``BaseNotifier``: something to call where a callback goes, that sends a message.

A notifier is built in the DAG file and called with a callback's context, like a function::

    PythonOperator(..., on_failure_callback=SlackWebhookNotifier(slack_webhook_conn_id="alerts"))

Calling it renders its ``template_fields`` with Jinja and the context (as an operator's
fields are), looks up what it needs (:meth:`BaseNotifier.prepare`: connections), then sends
(:meth:`BaseNotifier.notify`) with retries and backoff (:mod:`headwater.notifications.delivery`).
It never raises: a notification that finally fails is logged (secrets masked) and reported.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

from headwater.exceptions import HeadwaterError
from headwater.notifications.messages import NotificationMessage, describe

if TYPE_CHECKING:
    import jinja2

    from headwater.settings import Settings

Context = dict[str, Any]


class NotificationError(HeadwaterError):
    """A notifier is set up wrong (a bad argument, a missing connection) or could not send."""


class BaseNotifier:
    """Subclass it: set ``template_fields`` (attribute names rendered with Jinja and the
    callback's context) and implement :meth:`notify`; look connections up in :meth:`prepare`.

    Example::

        class LogNotifier(BaseNotifier):
            template_fields = ("text",)

            def __init__(self, text: str | None = None) -> None:
                super().__init__()
                self.text = text

            def notify(self, context: dict[str, Any]) -> None:
                print(self.text or self.default_message(context).text)

    Templates see the callback's context plus ``notification``: the default message's parts
    (``dag_id``, ``task_id``, ``run_id``, ``try_number``, ``state``, ``exception``, ``url``,
    ``title``, ``text``), there for task, DAG and deadline callbacks alike.
    """

    template_fields: ClassVar[Sequence[str]] = ()
    _settings: Settings | None = None  # also for subclasses that skip super().__init__()

    def __init__(self) -> None:
        self._settings = None

    # -- to implement ------------------------------------------------------------------------

    def notify(self, context: Context) -> None:
        """Send the message (called after rendering, maybe in another thread, maybe retried:
        raise to fail a try)."""
        raise NotImplementedError(f"{type(self).__name__} must implement notify(context)")

    def prepare(self) -> None:
        """Look up what sending needs (connections), in the caller's thread, where lookups
        reach the run's metadata database. A :class:`NotificationError` here is final."""

    # -- calling -----------------------------------------------------------------------------

    def __call__(self, context: Context) -> None:
        """Render, prepare and send now, with retries; never raises (see
        :func:`headwater.notifications.delivery.deliver`)."""
        from headwater.notifications.delivery import deliver

        deliver(self, context)

    @property
    def settings(self) -> Settings:
        """The settings read when the notifier was rendered (or now)."""
        if self._settings is None:
            from headwater.settings import load_settings

            self._settings = load_settings()
        return self._settings

    def default_message(self, context: Context) -> NotificationMessage:
        """What happened, for people: names the DAG, task, run, try, state, the exception
        and a link to the attempt's page in the UI."""
        return describe(context, self.settings)

    def render(self, context: Context, settings: Settings | None = None) -> Self:
        """A copy with every template field rendered with ``context`` (strings inside lists,
        tuples and dicts too); an error names the notifier and the field."""
        rendered = copy.copy(self)
        rendered._settings = settings if settings is not None else self._settings
        values = {**context, "notification": rendered.default_message(context)}
        for name in self.template_fields:
            try:
                value = getattr(self, name)
            except AttributeError:
                raise NotificationError(
                    f"{type(self).__name__}: template field {name!r} is not an attribute"
                ) from None
            try:
                setattr(rendered, name, _render_value(value, values))
            except Exception as exc:
                raise NotificationError(
                    f"{type(self).__name__}: cannot render {name!r}: {type(exc).__name__}: {exc}"
                ) from exc
        return rendered

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def _render_value(value: Any, context: Context) -> Any:
    if isinstance(value, str):
        if not any(marker in value for marker in ("{{", "{%", "{#")):
            return value
        return _environment().from_string(value).render(context)
    if isinstance(value, list):
        return [_render_value(item, context) for item in value]
    if isinstance(value, tuple):
        return tuple(_render_value(item, context) for item in value)
    if isinstance(value, dict):
        return {key: _render_value(item, context) for key, item in value.items()}
    return value


@functools.cache
def _environment() -> jinja2.Environment:
    """Jinja for notifiers (imported on first use): an undefined name is an error, as in an
    operator's fields; nothing is escaped (each notifier knows its format)."""
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters.update(
        ds=lambda d: d.strftime("%Y-%m-%d"),
        ts=lambda d: d.isoformat(),
    )
    return env
