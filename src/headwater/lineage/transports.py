"""The ``openlineage-python`` transport the ``[lineage]`` settings name.

``console`` logs each event (logger ``openlineage.client.transport.console``, INFO), ``file``
appends it as one JSON line to ``file_path``, ``http`` posts it to ``url`` + ``endpoint``
(with ``api_key`` as a bearer token) within ``timeout_s``, and ``kafka`` sends it to
``kafka_topic`` on ``kafka_bootstrap_servers`` (``confluent-kafka`` must be installed).
The client is imported only here, when a transport is built: with transport ``none``
headwater never imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.exceptions import HeadwaterError

if TYPE_CHECKING:
    from openlineage.client.transport import Transport

    from headwater.settings_operations import LineageSettings

INSTALL_HINT = "pip install 'headwater[openlineage]'"

HTTP_RETRY = {"total": 0}
"""No retries in the client: a refused connection, a timeout or a 5xx answer drops the event
and starts an outage (:mod:`~headwater.lineage.emitter`). The client's default, five retries
with backoff, would turn a backend that is down into seconds per event, and log each retry."""


class LineageUnavailableError(HeadwaterError):
    """The ``[lineage]`` settings ask for a transport this installation cannot build."""


def build_transport(settings: LineageSettings) -> Transport:
    """The transport of ``settings`` (not ``none``). Raises :class:`LineageUnavailableError`
    naming the setting or the package that is missing."""
    kind = settings.transport
    try:
        from openlineage.client.transport.console import ConsoleConfig, ConsoleTransport
        from openlineage.client.transport.file import FileConfig, FileTransport
        from openlineage.client.transport.http import (
            ApiKeyTokenProvider,
            HttpConfig,
            HttpTransport,
            TokenProvider,
        )
    except ImportError as exc:
        raise LineageUnavailableError(
            f"[lineage] transport is {kind!r}, which needs the openlineage-python package "
            f"({exc}): {INSTALL_HINT}"
        ) from None
    if kind == "console":
        return ConsoleTransport(ConsoleConfig())
    if kind == "file":
        path = _required(settings, "file_path")
        return FileTransport(FileConfig(log_file_path=path, append=True))
    if kind == "http":
        url = _required(settings, "url")
        if not url.startswith(("http://", "https://")):
            raise LineageUnavailableError(
                f"[lineage] url must start with http:// or https://, got {url!r}"
            )
        auth = (
            ApiKeyTokenProvider({"api_key": settings.api_key})
            if settings.api_key
            else TokenProvider({})
        )
        config = HttpConfig(
            url=url,
            endpoint=settings.endpoint,
            timeout=settings.timeout_s,
            auth=auth,
            retry=dict(HTTP_RETRY),
        )
        return HttpTransport(config)
    if kind == "kafka":
        return _kafka_transport(settings)
    raise LineageUnavailableError(f"[lineage] transport {kind!r} sends nothing")


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
    return KafkaTransport(KafkaConfig(config=config, topic=topic, messageKey=key, flush=True))


def _required(settings: LineageSettings, name: str) -> str:
    value: str = getattr(settings, name)
    if not value:
        raise LineageUnavailableError(
            f"[lineage] transport is {settings.transport!r}, which needs [lineage] {name}"
        )
    return value
