"""The ``openlineage-python`` transport the ``[lineage]`` settings name.

``console`` logs each event (logger ``openlineage.client.transport.console``, INFO), ``file``
appends it as one JSON line to ``file_path``, ``http`` posts it to ``url`` + ``endpoint``
(with ``api_key`` as a bearer token) within ``timeout_s`` (headwater's own
:class:`~headwater.lineage.http_transport.JsonHttpTransport`, a tenth of the client's CPU
per event), and ``kafka`` sends it to ``kafka_topic`` on ``kafka_bootstrap_servers``
(``confluent-kafka`` must be installed). The client is imported only here, when a
``console``, ``file`` or ``kafka`` transport is built: with ``none`` or ``http`` headwater
never imports it (:mod:`~headwater.lineage.run_ids` loads only its UUID module).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any, Protocol

from headwater.exceptions import HeadwaterError
from headwater.lineage.events import EncodedEvent
from headwater.lineage.http_transport import JsonHttpTransport

if TYPE_CHECKING:
    from headwater.settings_operations import LineageSettings

INSTALL_HINT = "pip install 'headwater[openlineage]'"


class Transport(Protocol):
    """What the emitter needs of a transport (the client's transports have both)."""

    def emit(self, event: Any) -> Any: ...

    def close(self, timeout: float = -1) -> Any: ...


class LineageUnavailableError(HeadwaterError):
    """The ``[lineage]`` settings ask for a transport this installation cannot build."""


def build_transport(settings: LineageSettings) -> Transport:
    """The transport of ``settings`` (not ``none``). Raises :class:`LineageUnavailableError`
    naming the setting or the package that is missing."""
    kind = settings.transport
    _require_client(kind)
    if kind == "console":
        from openlineage.client.transport.console import ConsoleConfig, ConsoleTransport

        return _Decoded(ConsoleTransport(ConsoleConfig()))
    if kind == "file":
        from openlineage.client.transport.file import FileConfig, FileTransport

        path = _required(settings, "file_path")
        return _Decoded(FileTransport(FileConfig(log_file_path=path, append=True)))
    if kind == "http":
        url = _required(settings, "url")
        if not url.startswith(("http://", "https://")):
            raise LineageUnavailableError(
                f"[lineage] url must start with http:// or https://, got {url!r}"
            )
        # No retries: a refused connection, a timeout or an error answer drops the event and
        # starts an outage (headwater.lineage.emitter) instead of seconds per event.
        return JsonHttpTransport(
            url, settings.endpoint, api_key=settings.api_key, timeout_s=settings.timeout_s
        )
    if kind == "kafka":
        return _kafka_transport(settings)
    raise LineageUnavailableError(f"[lineage] transport {kind!r} sends nothing")


_CLIENT_MODULES = {
    "console": "openlineage.client.transport.console",
    "file": "openlineage.client.transport.file",
    "kafka": "openlineage.client.transport.kafka",
}


def _require_client(kind: str) -> None:
    """Raise naming the extra when the client's module for ``kind`` is not installed."""
    if kind == "http":
        # Only the run ids need the client: its UUID module, found but not imported here.
        if importlib.util.find_spec("openlineage") is None:
            raise _client_missing(kind, "No module named 'openlineage'")
        return
    module = _CLIENT_MODULES.get(kind)
    if module is None:
        return
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise _client_missing(kind, str(exc)) from None


def _client_missing(kind: str, error: str) -> LineageUnavailableError:
    return LineageUnavailableError(
        f"[lineage] transport is {kind!r}, which needs the openlineage-python package "
        f"({error}): {INSTALL_HINT}"
    )


def _kafka_transport(settings: LineageSettings) -> Transport:
    topic = _required(settings, "kafka_topic")
    servers = _required(settings, "kafka_bootstrap_servers")
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        raise LineageUnavailableError(
            "[lineage] transport is 'kafka', which needs the confluent-kafka package: "
            "pip install confluent-kafka"
        ) from None
    from openlineage.client.transport.kafka import KafkaConfig, KafkaTransport

    config: dict[str, Any] = {
        "bootstrap.servers": servers,
        "message.timeout.ms": str(int(settings.timeout_s * 1000)),
    }
    # One message key for the deployment: its events stay in order on one partition.
    key = f"run:{settings.namespace}"
    return _Decoded(
        KafkaTransport(KafkaConfig(config=config, topic=topic, messageKey=key, flush=True))
    )


class _Decoded:
    """One of the client's transports, given events as JSON objects: a task's events come
    already encoded (:class:`~headwater.lineage.events.EncodedEvent`), which only the
    ``http`` transport sends as they are."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def emit(self, event: Any) -> Any:
        if isinstance(event, EncodedEvent):
            event = event.as_dict()
        return self.transport.emit(event)

    def close(self, timeout: float = -1) -> Any:
        return self.transport.close(timeout)


def _required(settings: LineageSettings, name: str) -> str:
    value: str = getattr(settings, name)
    if not value:
        raise LineageUnavailableError(
            f"[lineage] transport is {settings.transport!r}, which needs [lineage] {name}"
        )
    return value
