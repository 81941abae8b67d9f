"""One typed settings tree, read from defaults, ``$HEADWATER_HOME/headwater.toml`` and the
environment, in that order (the environment wins).

Every field ``section.key`` is set by the variable ``HEADWATER__SECTION__KEY`` or by
``[section] key = ...`` in the file. ``HEADWATER_HOME`` picks the home folder and
``HEADWATER_DAGS_FOLDER`` is a short name for ``HEADWATER__CORE__DAGS_FOLDER``. No other
module reads settings from the environment.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headwater.exceptions import HeadwaterError


class SettingsError(HeadwaterError):
    """A setting has a value of the wrong type, or the settings file is unreadable."""


def _setting(default: Any, description: str) -> Any:
    return field(default=default, metadata={"description": description})


@dataclass(frozen=True)
class CoreSettings:
    dags_folder: str = _setting("", "Folder of DAG files; default: <home>/dags.")
    load_examples: bool = _setting(False, "Also load the example DAGs shipped with headwater.")


@dataclass(frozen=True)
class XComSettings:
    max_size_bytes: int = _setting(1_048_576, "Largest serialized value a task may pass on.")
    serializer: str = _setting(
        "", "'module:Class' of the XCom serializer; empty for the JSON default."
    )


@dataclass(frozen=True)
class LoggingSettings:
    logs_folder: str = _setting("", "Folder of per-attempt task logs; default: <home>/logs.")


@dataclass(frozen=True)
class Settings:
    home: Path
    core: CoreSettings = field(default_factory=CoreSettings)
    xcom: XComSettings = field(default_factory=XComSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    sources: Mapping[str, str] = field(default_factory=dict)
    """Where each ``section.key`` came from: "default", the file's path, or the variable."""

    @property
    def dags_folder(self) -> Path:
        return Path(self.core.dags_folder) if self.core.dags_folder else self.home / "dags"

    @property
    def logs_folder(self) -> Path:
        return Path(self.logging.logs_folder) if self.logging.logs_folder else self.home / "logs"


SECTIONS = {"core": CoreSettings, "xcom": XComSettings, "logging": LoggingSettings}


def _coerce(raw: Any, kind: Any, where: str) -> Any:
    kind = {"str": str, "int": int, "bool": bool, "float": float}.get(kind, kind)
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"{where}: expected true or false, got {raw!r}")
    try:
        return kind(raw)
    except (TypeError, ValueError):
        raise SettingsError(f"{where}: expected {kind.__name__}, got {raw!r}") from None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (default: the process environment) and the file."""
    env = dict(os.environ if environ is None else environ)
    home = Path(env.get("HEADWATER_HOME") or Path.home() / ".headwater").expanduser()
    if env.get("HEADWATER_DAGS_FOLDER") and "HEADWATER__CORE__DAGS_FOLDER" not in env:
        env["HEADWATER__CORE__DAGS_FOLDER"] = env["HEADWATER_DAGS_FOLDER"]
    file_values: dict[str, Any] = {}
    config_file = home / "headwater.toml"
    if config_file.is_file():
        try:
            file_values = tomllib.loads(config_file.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{config_file}: {exc}") from None
    sources: dict[str, str] = {}
    sections: dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        values: dict[str, Any] = {}
        from_file = file_values.get(section, {})
        for f in dataclasses.fields(cls):
            name = f"{section}.{f.name}"
            variable = f"HEADWATER__{section.upper()}__{f.name.upper()}"
            if variable in env:
                values[f.name] = _coerce(env[variable], f.type, variable)
                sources[name] = f"env {variable}"
            elif f.name in from_file:
                values[f.name] = _coerce(
                    from_file[f.name], f.type, f"{config_file} [{section}] {f.name}"
                )
                sources[name] = str(config_file)
            else:
                sources[name] = "default"
        unknown = set(from_file) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise SettingsError(f"{config_file} [{section}]: unknown setting(s) {sorted(unknown)}")
        sections[section] = cls(**values)
    return Settings(home=home, sources=sources, **sections)
