"""FileSensor: waits until a file (or a glob pattern's match) exists."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from headwater.exceptions import DagDefinitionError, HeadwaterError
from headwater.hooks.filesystem import FSHook
from headwater.sensors.base import BaseSensorOperator, PokeReturnValue
from headwater.sensors.deferring import defer_sensor, event_error
from headwater.triggers.file import FileTrigger, find_file


class FileSensor(BaseSensorOperator):
    """Succeeds once ``filepath`` finds a file: a path or glob pattern (``**`` spans folders
    with ``recursive=True``) matching a regular file, or a folder that holds a file.

    A relative ``filepath`` is read under the folder of connection ``fs_conn_id`` (an ``fs``
    connection: :class:`~headwater.hooks.filesystem.FSHook`); an absolute one is used as it
    is. ``filepath`` is a template. With ``deferrable=True`` the sensor checks once, then
    waits in the triggerer (:class:`~headwater.triggers.FileTrigger`) and holds no worker.
    The path of the file found is the task's XCom. Example::

        FileSensor(task_id="wait_for_orders", fs_conn_id="landing",
                   filepath="orders/{{ ds_nodash }}_*.csv", poke_interval=60)
    """

    template_fields: Sequence[str] = ("filepath",)
    ui_color = "#91818a"

    def __init__(
        self,
        *,
        filepath: str,
        fs_conn_id: str = FSHook.default_conn_name,
        recursive: bool = False,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(filepath, str) or not filepath:
            raise DagDefinitionError(
                f"task {self.task_id!r}: filepath must be a non-empty path, got {filepath!r}"
            )
        self.filepath = filepath
        self.fs_conn_id = fs_conn_id
        self.recursive = bool(recursive)
        self.deferrable = bool(deferrable)

    def full_path(self) -> str:
        """The rendered ``filepath``, under the connection's folder when it is relative."""
        if os.path.isabs(self.filepath):
            return self.filepath
        try:
            return str(FSHook(self.fs_conn_id).resolve(self.filepath))
        except HeadwaterError as exc:
            raise HeadwaterError(f"task {self.task_id!r}: {exc}") from None

    def poke(self, context: dict[str, Any]) -> PokeReturnValue:
        pattern = self.full_path()
        log = getattr(context.get("ti"), "log", None)
        if log is not None:
            log.info("Poking for file %s", pattern)
        found = find_file(pattern, self.recursive)
        if found is not None and log is not None:
            log.info("Found %s", found)
        return PokeReturnValue(found is not None, found)

    def execute(self, context: dict[str, Any]) -> Any:
        if not self.deferrable:
            return super().execute(context)
        first = self.poke(context)
        if first.is_done:
            return first.xcom_value
        trigger = FileTrigger(
            self.full_path(), self.recursive, self.poke_interval.total_seconds() or 1.0
        )
        defer_sensor(self, trigger)

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> Any:
        """Resumed by the trigger, whose event is the path of the file it found."""
        message = event_error(event)
        if message is not None or not event:
            raise HeadwaterError(
                f"task {self.task_id!r}: no file found for {self.filepath!r}"
                + (f": {message}" if message else "")
            )
        log = getattr(context.get("ti"), "log", None)
        if log is not None:
            log.info("Found %s", event)
        return event
