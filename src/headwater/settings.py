"""One typed settings tree, read from defaults, ``$HEADWATER_HOME/headwater.toml`` and the
environment, in that order (the environment wins).

Every field ``section.key`` is set by the variable ``HEADWATER__SECTION__KEY`` or by
``[section] key = ...`` in the file. ``HEADWATER_HOME`` picks the home folder and
``HEADWATER_DAGS_FOLDER`` and ``HEADWATER_DATABASE_URL`` are short names for
``HEADWATER__CORE__DAGS_FOLDER`` and ``HEADWATER__DATABASE__URL``. An unknown
section or key, in the file or in a ``HEADWATER__...`` variable, is an error, so a typo is
never silently ignored. Every field has a type and, for numbers, a range (``setting``'s
``minimum``/``maximum``) or, for some strings, a list of choices: a value of the wrong type,
``nan``, an infinity or a number out of range is refused when the settings load, naming the
setting, where the value came from and what is allowed (``settings_checks``). No other module
reads settings from the environment.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headwater.settings_checks import (
    SettingsError,
    check_value,
    file_line,
    parse_variable,
    setting,
)
from headwater.settings_daemons import ApiSettings, SchedulerSettings, TriggererSettings
from headwater.settings_operations import (
    DeadlineSettings,
    LineageSettings,
    MetricsSettings,
    NotificationSettings,
    RetentionSettings,
    SentrySettings,
)
from headwater.settings_scale_out import CelerySettings

__all__ = ["SECTIONS", "SHORT_VARIABLES", "Settings", "SettingsError", "load_settings"]


@dataclass(frozen=True)
class CoreSettings:
    dags_folder: str = setting("", "Folder of DAG files; default: <home>/dags.")
    airflow_compat: bool = setting(
        False,
        "Run Airflow DAG files unchanged: their `airflow.*` imports are answered with "
        "headwater's own objects, and files that mention airflow and dag are scanned too. "
        "Never when a real Airflow is installed in the same environment.",
    )
    default_timezone: str = setting(
        "UTC",
        "IANA time zone (e.g. 'Europe/Paris') in which an Airflow DAG file's naive "
        "start_date and end_date are read, as Airflow's [core] default_timezone; headwater's "
        "own DAGs need dates with a zone.",
    )


@dataclass(frozen=True)
class XComSettings:
    max_size_bytes: int = setting(
        1_048_576,
        "Largest serialized value a task may pass on.",
        minimum=1,
        maximum=1 << 30,
    )
    serializer: str = setting(
        "", "'module:Class' of the XCom serializer; empty for the JSON default."
    )
    # -- object-store XCom backend (issue 11, object-store part) --
    backend: str = setting(
        "database",
        "Where values passed between tasks are kept: 'database' (in the metadata database), "
        "or 'object_store' (values over object_store_threshold_bytes, DataFrames and bytes go "
        "to files under object_store_path; the database keeps a reference to each).",
        choices=("database", "object_store"),
    )
    object_store_path: str = setting(
        "",
        "Folder or fsspec URL (s3://bucket/prefix, needs fsspec and its driver) of the XCom "
        "object store; default: <home>/xcom_objects. A relative folder is read from <home>.",
    )
    object_store_threshold_bytes: int = setting(
        65_536,
        "With the object store, a JSON value whose serialized text is larger than this goes "
        "to a file (0: every value does); DataFrames and bytes always do. At most "
        "max_size_bytes.",
        minimum=0,
        maximum=1 << 30,
    )


@dataclass(frozen=True)
class SecretsSettings:
    fernet_key: str = setting(
        "",
        "Fernet key that encrypts passwords, connection extras and variables in the metadata "
        "database; empty: stored in clear (said once, loudly). Several keys, comma-separated: "
        "the first encrypts, all decrypt (key rotation).",
    )
    backends: str = setting(
        "",
        "Secrets backends looked up before the metadata database, in order, comma-separated: "
        "env, file, vault or 'module:Class'.",
    )
    # -- backend options (issue 11, secrets-backends part) --
    connections_file: str = setting(
        "",
        "The 'file' backend's connections: a .yaml, .yml, .json or .env file mapping each "
        "conn_id to a URI or an object of the connection's fields; empty: none.",
    )
    variables_file: str = setting(
        "",
        "The 'file' backend's variables: a .yaml, .yml, .json or .env file mapping each key "
        "to its value; empty: none.",
    )
    vault_url: str = setting("", "The 'vault' backend's server, e.g. https://vault.internal:8200.")
    vault_token: str = setting(
        "",
        "The 'vault' backend's token; better set in the environment "
        "(HEADWATER__SECRETS__VAULT_TOKEN) than in the file.",
    )
    vault_mount_point: str = setting(
        "secret", "Where the KV version 2 secrets engine the 'vault' backend reads is mounted."
    )
    vault_connections_path: str = setting(
        "connections",
        "Path under the mount of the 'vault' backend's connections: the secret "
        "<path>/<conn_id> holds conn_uri or the connection's fields.",
    )
    vault_variables_path: str = setting(
        "variables",
        "Path under the mount of the 'vault' backend's variables: the secret <path>/<key> "
        "holds the variable under 'value'.",
    )
    vault_timeout_s: float = setting(
        10.0,
        "Seconds the 'vault' backend waits for Vault to answer a lookup.",
        minimum=0.1,
        maximum=300.0,
    )
    backend_kwargs: str = setting(
        "",
        "Keyword arguments of the 'module:Class' backends: a JSON object from each name as "
        'written in secrets.backends to an object, e.g. {"pkg.secrets:AwsBackend": '
        '{"region": "eu-west-1"}}.',
    )


@dataclass(frozen=True)
class EmailSettings:
    smtp_conn_id: str = setting(
        "smtp_default", "Connection used to send email (alerts and EmailOperator)."
    )
    from_email: str = setting("", "Sender address; default: the SMTP connection's login.")
    # -- email options (issue 11, email part) --
    subject_template: str = setting(
        "",
        "Jinja template file for the subject of failure and retry alert emails; empty: the "
        "built-in one. It sees the task's context plus dag_id, task_label, try_number, "
        "max_tries, will_retry, exception, log_path and hostname.",
    )
    html_content_template: str = setting(
        "",
        "Jinja template file for the HTML body of failure and retry alert emails; empty: the "
        "built-in one. Same variables as subject_template.",
    )
    timeout_s: float = setting(
        30.0,
        "Seconds to wait for the SMTP server (to connect, and for each command) when the "
        "connection's extra sets no timeout.",
        minimum=0.1,
        maximum=600.0,
    )


@dataclass(frozen=True)
class LoggingSettings:
    logs_folder: str = setting("", "Folder of per-attempt task logs; default: <home>/logs.")
    format: str = setting(
        "text",
        "How the scheduler, triggerer and API server log: text, or json (one JSON object per "
        "line, with dag_id, run_id and task_id fields where they apply, for log shippers).",
        choices=("text", "json"),
    )
    remote_log_folder: str = setting(
        "",
        "A second copy of every task log: a folder, or an fsspec URL (s3://bucket/logs); "
        "logs are read from it when the local file is gone. Empty: none.",
    )
    remote_log_flush_interval_s: float = setting(
        3.0,
        "Seconds between shipments of what a running attempt's log gained to "
        "remote_log_folder, where readers on other machines follow it.",
        minimum=0.1,
        maximum=3600.0,
    )


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = setting(
        "",
        "SQLAlchemy URL of the metadata database; default: SQLite at <home>/headwater.db. "
        "PostgreSQL: postgresql+psycopg://user:password@host:5432/db.",
    )


@dataclass(frozen=True)
class Settings:
    home: Path
    core: CoreSettings = field(default_factory=CoreSettings)
    xcom: XComSettings = field(default_factory=XComSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    triggerer: TriggererSettings = field(default_factory=TriggererSettings)
    secrets: SecretsSettings = field(default_factory=SecretsSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    deadlines: DeadlineSettings = field(default_factory=DeadlineSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    lineage: LineageSettings = field(default_factory=LineageSettings)
    sentry: SentrySettings = field(default_factory=SentrySettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    celery: CelerySettings = field(default_factory=CelerySettings)
    sources: Mapping[str, str] = field(default_factory=dict)
    """Where ``home`` and each ``section.key`` came from: "default", the file, or "env VAR"."""

    @property
    def dags_folder(self) -> Path:
        return Path(self.core.dags_folder) if self.core.dags_folder else self.home / "dags"

    @property
    def logs_folder(self) -> Path:
        return Path(self.logging.logs_folder) if self.logging.logs_folder else self.home / "logs"

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.home / 'headwater.db'}"


SECTIONS = {
    "core": CoreSettings,
    "xcom": XComSettings,
    "logging": LoggingSettings,
    "database": DatabaseSettings,
    "scheduler": SchedulerSettings,
    "triggerer": TriggererSettings,
    "secrets": SecretsSettings,
    "email": EmailSettings,
    "api": ApiSettings,
    "notifications": NotificationSettings,
    "deadlines": DeadlineSettings,
    "metrics": MetricsSettings,
    "lineage": LineageSettings,
    "sentry": SentrySettings,
    "retention": RetentionSettings,
    "celery": CelerySettings,
}

SHORT_VARIABLES = {
    "core.dags_folder": "HEADWATER_DAGS_FOLDER",
    "database.url": "HEADWATER_DATABASE_URL",
}
"""Short names for some ``HEADWATER__SECTION__KEY`` variables (the long name wins)."""


def _variable(section: str, key: str) -> str:
    return f"HEADWATER__{section.upper()}__{key.upper()}"


def _check_variables(env: Mapping[str, str]) -> None:
    """Refuse a ``HEADWATER__...`` variable that names no setting (a typo would be ignored)."""
    known = [
        _variable(section, f.name)
        for section, cls in SECTIONS.items()
        for f in dataclasses.fields(cls)
    ]
    for variable in sorted(env):
        if variable.startswith("HEADWATER__") and variable not in known:
            raise SettingsError(
                f"{variable}: no such setting; the variables are {', '.join(known)}"
            )


def _read_file(config_file: Path) -> tuple[dict[str, Any], str]:
    """The tables of ``config_file`` (none when it does not exist), with only known keys,
    and its text (to name the line of a bad value)."""
    if not config_file.exists():
        return {}, ""
    if not config_file.is_file():
        raise SettingsError(f"{config_file}: not a file; the settings file must be a TOML file")
    try:
        # A byte-order mark (some Windows editors write one) is not TOML; it says nothing.
        text = config_file.read_bytes().decode("utf-8").removeprefix("\ufeff")
        values = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{config_file}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start}); save the file as UTF-8"
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{config_file}: {exc}") from None
    known = ", ".join(f"[{s}]" for s in SECTIONS)
    for section, table in values.items():
        cls = SECTIONS.get(section)
        if not isinstance(table, dict):
            raise SettingsError(
                f"{config_file}: {section!r} is outside any section; settings go in {known}"
            )
        if cls is None:
            raise SettingsError(
                f"{config_file}: unknown section [{section}]; the sections are {known}"
            )
        keys = [f.name for f in dataclasses.fields(cls)]
        for key in table:
            if key not in keys:
                raise SettingsError(
                    f"{config_file} [{section}]: unknown setting {key!r}; "
                    f"the settings of [{section}] are {', '.join(keys)}"
                )
    return values, text


def _check_database_url(url: str, source: str) -> None:
    """Refuse an in-memory SQLite database: it lives as long as one connection, so every
    process (and every command) would see a different, empty one."""
    scheme, _, rest = url.partition("://")
    if scheme.split("+")[0] != "sqlite":
        return
    path, _, query = rest.partition("?")
    if path in ("", "/", "/:memory:") or "mode=memory" in query:
        raise SettingsError(
            f"database.url ({source}): {url!r} is an in-memory SQLite database, which every "
            "process would see empty; give a file, e.g. sqlite:////srv/headwater/headwater.db, "
            "or leave the setting empty for <home>/headwater.db"
        )


def _check_timezone(core: CoreSettings, sources: Mapping[str, str]) -> None:
    """Refuse a ``core.default_timezone`` that names no time zone: a typo would otherwise
    surface only when an Airflow DAG file with a naive date loads."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = core.default_timezone
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"core.default_timezone ({sources['core.default_timezone']}): {name!r} is not an "
            "IANA time zone name; use e.g. 'UTC' or 'Europe/Paris'"
        ) from None


def _check_together(scheduler: SchedulerSettings, sources: Mapping[str, str]) -> None:
    """Rules between settings: an attempt must be able to heartbeat before it counts as lost."""
    if scheduler.task_heartbeat_timeout_s <= scheduler.heartbeat_interval_s:
        raise SettingsError(
            f"scheduler.task_heartbeat_timeout_s ({scheduler.task_heartbeat_timeout_s}, "
            f"{sources['scheduler.task_heartbeat_timeout_s']}) must be greater than "
            f"scheduler.heartbeat_interval_s ({scheduler.heartbeat_interval_s}, "
            f"{sources['scheduler.heartbeat_interval_s']}), or every attempt would count as lost"
        )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (default: the process environment) and the file.

    Raises :class:`SettingsError`, naming the setting, the variable or the file and line, and
    what is allowed, for a value of the wrong type or out of range, and naming the name for an
    unknown section, key or ``HEADWATER__...`` variable.
    """
    env = dict(os.environ if environ is None else environ)
    home = Path(env.get("HEADWATER_HOME") or Path.home() / ".headwater").expanduser()
    _check_variables(env)
    config_file = home / "headwater.toml"
    file_values, file_text = _read_file(config_file)
    sources = {"home": "env HEADWATER_HOME" if env.get("HEADWATER_HOME") else "default"}
    sections: dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        values: dict[str, Any] = {}
        from_file = file_values.get(section, {})
        for f in dataclasses.fields(cls):
            name = f"{section}.{f.name}"
            variable = _variable(section, f.name)
            short = SHORT_VARIABLES.get(name)
            if short and variable not in env and env.get(short):
                variable = short
            if f.name in from_file:  # checked even when a variable wins: the file is wrong
                line = file_line(file_text, section, f.name)
                where = f"{config_file}, line {line}" if line else str(config_file)
                values[f.name] = check_value(from_file[f.name], f, name, where)
                sources[name] = str(config_file)
            if variable in env:
                where = f"env {variable}"
                value = parse_variable(env[variable], f, name, where)
                values[f.name] = check_value(value, f, name, where)
                sources[name] = where
            sources.setdefault(name, "default")
        sections[section] = cls(**values)
    _check_database_url(sections["database"].url, sources["database.url"])
    _check_timezone(sections["core"], sources)
    _check_together(sections["scheduler"], sources)
    return Settings(home=home, sources=sources, **sections)
