"""``airflow.configuration.conf``: Airflow's ``[section] key`` settings answered from
headwater's settings where one means the same thing.

    conf.get("core", "dags_folder")                      # settings.dags_folder, as text
    conf.getint("core", "parallelism")                   # [scheduler] parallelism
    conf.get("kubernetes_executor", "namespace", fallback="default")   # no equivalent: fallback

A key with no headwater equivalent is an :class:`AirflowConfigError` naming it, unless the
call gives ``fallback`` (returned as given, as Airflow does for a missing key).

========================================  ===========================================
Airflow ``section.key``                   headwater setting
========================================  ===========================================
core.dags_folder                          core.dags_folder (its resolved folder)
core.default_timezone                     core.default_timezone (naive dates in Airflow files)
core.executor                             scheduler.executor
core.parallelism                          scheduler.parallelism
core.dags_are_paused_at_creation          scheduler.dags_are_paused_at_creation
core.dagbag_import_timeout                scheduler.file_parse_timeout_s
core.load_examples                        False (headwater ships no example DAGs)
logging.base_log_folder                   logging.logs_folder (its resolved folder)
logging.remote_base_log_folder            logging.remote_log_folder
scheduler.dag_dir_list_interval           scheduler.dag_dir_list_interval_s
scheduler.min_file_process_interval       scheduler.min_file_process_interval_s
scheduler.scheduler_heartbeat_sec         scheduler.heartbeat_interval_s
dag_processor.refresh_interval            scheduler.dag_dir_list_interval_s
dag_processor.min_file_process_interval   scheduler.min_file_process_interval_s
dag_processor.dag_file_processor_timeout  scheduler.file_parse_timeout_s
webserver.base_url, api.base_url          api.base_url
webserver.web_server_host, api.host       api.host
webserver.web_server_port, api.port       api.port
celery.broker_url                         celery.broker_url
celery.worker_concurrency                 celery.worker_concurrency
celery.default_queue, operators.default_queue   celery.default_queue
triggerer.capacity, triggerer.default_capacity  triggerer.capacity
email.email_conn_id, smtp.smtp_conn_id    email.smtp_conn_id
smtp.smtp_mail_from, email.from_email     email.from_email
========================================  ===========================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from headwater.exceptions import HeadwaterError

if TYPE_CHECKING:
    from headwater.settings import Settings

__all__ = ["AIRFLOW_KEYS", "AirflowConfigError", "AirflowConfigParser", "conf"]


class AirflowConfigError(HeadwaterError):
    """An Airflow setting headwater has no equivalent for (or a value of the wrong type):
    ``airflow.exceptions.AirflowConfigException`` in Airflow DAG files."""


def _setting(section: str, key: str) -> Callable[[Settings], Any]:
    return lambda settings: getattr(getattr(settings, section), key)


AIRFLOW_KEYS: dict[tuple[str, str], Callable[[Settings], Any]] = {
    ("core", "dags_folder"): lambda settings: settings.dags_folder,
    ("core", "default_timezone"): _setting("core", "default_timezone"),
    ("core", "executor"): _setting("scheduler", "executor"),
    ("core", "parallelism"): _setting("scheduler", "parallelism"),
    ("core", "dags_are_paused_at_creation"): _setting("scheduler", "dags_are_paused_at_creation"),
    ("core", "dagbag_import_timeout"): _setting("scheduler", "file_parse_timeout_s"),
    ("core", "load_examples"): lambda settings: False,
    ("logging", "base_log_folder"): lambda settings: settings.logs_folder,
    ("logging", "remote_base_log_folder"): _setting("logging", "remote_log_folder"),
    ("scheduler", "dag_dir_list_interval"): _setting("scheduler", "dag_dir_list_interval_s"),
    ("scheduler", "min_file_process_interval"): _setting(
        "scheduler", "min_file_process_interval_s"
    ),
    ("scheduler", "scheduler_heartbeat_sec"): _setting("scheduler", "heartbeat_interval_s"),
    ("dag_processor", "refresh_interval"): _setting("scheduler", "dag_dir_list_interval_s"),
    ("dag_processor", "min_file_process_interval"): _setting(
        "scheduler", "min_file_process_interval_s"
    ),
    ("dag_processor", "dag_file_processor_timeout"): _setting("scheduler", "file_parse_timeout_s"),
    ("webserver", "base_url"): _setting("api", "base_url"),
    ("api", "base_url"): _setting("api", "base_url"),
    ("webserver", "web_server_host"): _setting("api", "host"),
    ("api", "host"): _setting("api", "host"),
    ("webserver", "web_server_port"): _setting("api", "port"),
    ("api", "port"): _setting("api", "port"),
    ("celery", "broker_url"): _setting("celery", "broker_url"),
    ("celery", "worker_concurrency"): _setting("celery", "worker_concurrency"),
    ("celery", "default_queue"): _setting("celery", "default_queue"),
    ("operators", "default_queue"): _setting("celery", "default_queue"),
    ("triggerer", "capacity"): _setting("triggerer", "capacity"),
    ("triggerer", "default_capacity"): _setting("triggerer", "capacity"),
    ("email", "email_conn_id"): _setting("email", "smtp_conn_id"),
    ("smtp", "smtp_conn_id"): _setting("email", "smtp_conn_id"),
    ("smtp", "smtp_mail_from"): _setting("email", "from_email"),
    ("email", "from_email"): _setting("email", "from_email"),
}
"""Airflow ``(section, key)`` -> its value from headwater's settings."""

_NOTSET: Any = object()
_TRUE = {"true", "t", "1", "yes", "y", "on"}
_FALSE = {"false", "f", "0", "no", "n", "off"}


class AirflowConfigParser:
    """``airflow.configuration.conf``: reads headwater's settings at each call (a task sees
    the settings of the process that runs it)."""

    def __init__(self, settings: Callable[[], Settings] | None = None) -> None:
        self._settings = settings

    def _load(self) -> Settings:
        if self._settings is not None:
            return self._settings()
        from headwater.settings import load_settings

        return load_settings()

    def _value(self, section: str, key: str, fallback: Any) -> Any:
        where = (str(section).lower(), str(key).lower())
        read = AIRFLOW_KEYS.get(where)
        if read is not None:
            return read(self._load())
        if fallback is not _NOTSET:
            return fallback
        raise AirflowConfigError(
            f"airflow.configuration.conf: [{section}] {key} has no headwater equivalent "
            f"(give fallback=... for a default); the Airflow keys headwater answers are "
            f"{', '.join(f'{s}.{k}' for s, k in sorted(AIRFLOW_KEYS))}"
        )

    def has_option(self, section: str, option: str) -> bool:
        """Whether headwater answers ``[section] option``."""
        return (str(section).lower(), str(option).lower()) in AIRFLOW_KEYS

    def get(self, section: str, key: str, fallback: Any = _NOTSET, **_: Any) -> Any:
        """The value as text (Airflow's settings are text); ``fallback`` when headwater has
        no equivalent and one is given."""
        value = self._value(section, key, fallback)
        if value is fallback:
            return value
        return str(value)

    def getboolean(self, section: str, key: str, fallback: Any = _NOTSET, **_: Any) -> Any:
        """The value as a bool (``true``/``false``, ``1``/``0``, ``yes``/``no``...)."""
        value = self._value(section, key, fallback)
        if value is fallback or isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise AirflowConfigError(
            f"airflow.configuration.conf: [{section}] {key} is {value!r}, not a boolean"
        )

    def getint(self, section: str, key: str, fallback: Any = _NOTSET, **_: Any) -> Any:
        """The value as an int."""
        return self._number(section, key, fallback, int)

    def getfloat(self, section: str, key: str, fallback: Any = _NOTSET, **_: Any) -> Any:
        """The value as a float."""
        return self._number(section, key, fallback, float)

    def _number(self, section: str, key: str, fallback: Any, kind: type[Any]) -> Any:
        value = self._value(section, key, fallback)
        if value is fallback:
            return value
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise AirflowConfigError(
                f"airflow.configuration.conf: [{section}] {key} is {value!r}, not "
                f"{'an integer' if kind is int else 'a number'}"
            ) from None


conf = AirflowConfigParser()
"""``from airflow.configuration import conf``."""
