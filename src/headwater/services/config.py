"""The effective settings and where each came from (``headwater config show``)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from headwater.services._schema import Schema

if TYPE_CHECKING:
    from headwater.settings import Settings


class SettingOut(Schema):
    setting: str
    """``section.key``, or ``home``."""
    value: Any
    source: str
    """``default``, ``file`` or ``env``."""


def list_settings(settings: Settings) -> list[SettingOut]:
    """Every setting with its effective value (an empty default shows what it resolves
    to; the database URL without its password) and its source."""
    from headwater.settings import SECTIONS

    effective: dict[str, object] = {
        "core.dags_folder": settings.dags_folder,
        "logging.logs_folder": settings.logs_folder,
        "database.url": settings.database_url,
    }
    rows = [SettingOut(setting="home", value=str(settings.home), source=settings.sources["home"])]
    for section, cls in SECTIONS.items():
        values = getattr(settings, section)
        for f in dataclasses.fields(cls):
            name = f"{section}.{f.name}"
            rows.append(
                SettingOut(
                    setting=name,
                    value=_shown(name, getattr(values, f.name), effective),
                    source=settings.sources[name],
                )
            )
    return rows


def _shown(name: str, value: object, effective: dict[str, object]) -> object:
    """The value to print: the effective one for an empty default, no password in a URL."""
    if value == "" and name in effective:
        value = str(effective[name])
    if name == "database.url" and isinstance(value, str):
        from headwater.services.database import shown_url

        value = shown_url(value)
    return value
