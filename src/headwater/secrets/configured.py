"""The secrets backends the settings name (``[secrets] backends``), built once per process
for each value of the ``[secrets]`` section.

``backends`` is a comma-separated list, looked up in that order: ``env``
(:class:`~headwater.secrets.environment.EnvironmentBackend`), ``file``
(:class:`~headwater.secrets.local_file.LocalFileBackend`), ``vault``
(:class:`~headwater.secrets.vault.VaultBackend`), or ``module:Class``, any
:class:`~headwater.secrets.SecretsBackend` subclass, built with the keyword arguments that
``backend_kwargs`` gives under its name. Empty means ``env`` alone. A bad name or option is an
error naming the setting and where its value came from, raised at the first lookup.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from headwater.secrets.backend import SecretsBackend
from headwater.secrets.environment import EnvironmentBackend
from headwater.secrets.errors import SecretsBackendError
from headwater.strict_json import InvalidJsonError, loads_object

if TYPE_CHECKING:
    from headwater.settings import SecretsSettings, Settings

BUILT_IN = ("env", "file", "vault")
DEFAULT = "env"

_lock = threading.Lock()
_built: tuple[SecretsSettings, tuple[SecretsBackend, ...]] | None = None


def backends_for(settings: Settings) -> tuple[SecretsBackend, ...]:
    """The backends of ``settings.secrets``, in order; the same objects while that section
    stays the same (a Vault client, a parsed file are kept between lookups)."""
    global _built
    section = settings.secrets
    with _lock:
        if _built is not None and _built[0] == section:
            return _built[1]
        backends = tuple(build_backends(section, settings.sources))
        _built = (section, backends)
        return backends


def backend_names(section: SecretsSettings, sources: Mapping[str, str]) -> list[str]:
    """The names in ``backends``, checked: known or ``module:Class``, each once."""
    where = f"secrets.backends ({sources.get('secrets.backends', 'default')})"
    names = [name.strip() for name in section.backends.split(",") if name.strip()] or [DEFAULT]
    for name in names:
        if name not in BUILT_IN and not _is_class_path(name):
            raise SecretsBackendError(
                f"{where}: unknown backend {name!r}; use {', '.join(BUILT_IN)} or "
                "'module:Class' (a SecretsBackend subclass)"
            )
        if names.count(name) > 1:
            raise SecretsBackendError(f"{where}: backend {name!r} is named twice")
    return names


def build_backends(section: SecretsSettings, sources: Mapping[str, str]) -> list[SecretsBackend]:
    """A new backend for each name in ``section.backends``."""
    names = backend_names(section, sources)
    custom = [name for name in names if name not in BUILT_IN]
    kwargs = _backend_kwargs(section, sources, custom)
    built: list[SecretsBackend] = []
    for name in names:
        if name == "env":
            built.append(EnvironmentBackend())
        elif name == "file":
            built.append(_file_backend(section))
        elif name == "vault":
            built.append(_vault_backend(section))
        else:
            built.append(_custom_backend(name, kwargs.get(name, {})))
    return built


def _is_class_path(name: str) -> bool:
    module, colon, attribute = name.partition(":")
    return bool(colon) and all(
        part.isidentifier() for part in [*module.split("."), *attribute.split(".")]
    )


def _file_backend(section: SecretsSettings) -> SecretsBackend:
    from headwater.secrets.local_file import LocalFileBackend

    if not section.connections_file and not section.variables_file:
        raise SecretsBackendError(
            "secrets.backends names 'file', but neither secrets.connections_file nor "
            "secrets.variables_file is set"
        )
    return LocalFileBackend(section.connections_file or None, section.variables_file or None)


def _vault_backend(section: SecretsSettings) -> SecretsBackend:
    from headwater.secrets.vault import VaultBackend

    return VaultBackend(
        section.vault_url,
        section.vault_token,
        mount_point=section.vault_mount_point,
        connections_path=section.vault_connections_path,
        variables_path=section.vault_variables_path,
        timeout_s=section.vault_timeout_s,
    )


def _backend_kwargs(
    section: SecretsSettings, sources: Mapping[str, str], custom: list[str]
) -> dict[str, dict[str, Any]]:
    """``backend_kwargs``, checked: an object whose keys are custom backends being used."""
    if not section.backend_kwargs.strip():
        return {}
    where = f"secrets.backend_kwargs ({sources.get('secrets.backend_kwargs', 'default')})"
    try:
        value = loads_object(section.backend_kwargs, where)
    except InvalidJsonError as exc:
        raise SecretsBackendError(str(exc)) from None
    for name, kwargs in value.items():
        if name not in custom:
            listed = ", ".join(custom) or "none"
            raise SecretsBackendError(
                f"{where}: {name!r} is not a 'module:Class' backend in secrets.backends "
                f"(those are: {listed})"
            )
        if not isinstance(kwargs, dict):
            raise SecretsBackendError(f"{where}: the arguments of {name!r} must be an object")
    return value


def _custom_backend(name: str, kwargs: dict[str, Any]) -> SecretsBackend:
    module_name, _, attribute = name.partition(":")
    where = f"secrets.backends: {name!r}"
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise SecretsBackendError(f"{where}: cannot import {module_name!r}: {exc}") from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise SecretsBackendError(f"{where}: module {module_name!r} has no {attribute!r}")
        target = getattr(target, part)
    if not isinstance(target, type) or not issubclass(target, SecretsBackend):
        raise SecretsBackendError(f"{where}: not a subclass of headwater.secrets.SecretsBackend")
    try:
        return target(**kwargs)
    except TypeError as exc:
        given = ", ".join(sorted(kwargs)) or "none"
        raise SecretsBackendError(
            f"{where}: cannot be built with the arguments of secrets.backend_kwargs "
            f"({given}): {exc}"
        ) from None
