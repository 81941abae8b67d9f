"""What the scheduler sends to whoever runs an attempt: a versioned JSON message.

An :class:`AttemptMessage` names one attempt (:class:`~headwater.engine.records.AttemptKey`:
dag, run, task, map index **and try number**, so a late result of try 1 can never be taken
for try 2), where its DAG file and its log are, and its execution timeout. It may carry the
run and the instance as the scheduler just committed them, so that a worker needs not read
them back. It carries **no credentials**: a worker reads its own settings (the database URL
among them) from its environment, as any headwater process does. The same bytes can go down
a local worker's pipe or through a broker (Celery, later); a reader refuses a message of a
newer protocol version, or one with a missing or mistyped field, naming the field.

Example::

    message = AttemptMessage(key, fileloc="/dags/etl.py", log_path="/logs/...", timeout_s=600)
    data = message.encode()                 # b'{"version": 1, "dag_id": "etl", ...}'
    assert AttemptMessage.decode(data) == message
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from headwater.engine.records import AttemptKey, DagRun, TaskInstance
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.exceptions import HeadwaterError

PROTOCOL_VERSION = 1
"""The version of the attempt message this headwater writes (and the newest it reads)."""


class MessageError(HeadwaterError):
    """A message that cannot be read: not JSON, a newer version, a missing or bad field."""


@dataclass(frozen=True)
class AttemptMessage:
    """Run try ``key.try_number`` of one task instance."""

    key: AttemptKey
    fileloc: str
    """The DAG file that defines the DAG (the worker imports it)."""
    log_path: str
    """Where the attempt writes its log."""
    timeout_s: float | None = None
    """The task's ``execution_timeout`` in seconds, enforced from outside the task too."""
    run: DagRun | None = None
    """The run as the scheduler committed it (optional: else the worker reads it)."""
    ti: TaskInstance | None = None
    """The instance as the scheduler committed it (optional: else the worker reads it)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "version": PROTOCOL_VERSION,
            **self.key._asdict(),
            "fileloc": self.fileloc,
            "log_path": self.log_path,
            "timeout_s": self.timeout_s,
            "run": None if self.run is None else _run_json(self.run),
            "ti": None if self.ti is None else _ti_json(self.ti),
        }

    @classmethod
    def from_json(cls, data: Any) -> AttemptMessage:
        if not isinstance(data, dict):
            raise MessageError(f"an attempt message is a JSON object, not {type(data).__name__}")
        version = data.get("version")
        if not isinstance(version, int) or version < 1:
            raise MessageError(f"attempt message: version {version!r} is not valid")
        if version > PROTOCOL_VERSION:
            raise MessageError(
                f"attempt message version {version} is newer than this headwater reads "
                f"({PROTOCOL_VERSION}): upgrade the worker"
            )
        key = AttemptKey(
            _field(data, "dag_id", str),
            _field(data, "run_id", str),
            _field(data, "task_id", str),
            _field(data, "map_index", int),
            _field(data, "try_number", int),
        )
        timeout = data.get("timeout_s")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float)
        ):
            raise MessageError(f"attempt message: timeout_s must be a number, not {timeout!r}")
        run, ti = data.get("run"), data.get("ti")
        try:
            return cls(
                key,
                fileloc=_field(data, "fileloc", str),
                log_path=_field(data, "log_path", str),
                timeout_s=None if timeout is None else float(timeout),
                run=None if run is None else _run_from(run),
                ti=None if ti is None else _ti_from(ti),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MessageError(f"attempt message: bad run or ti: {exc}") from None

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> AttemptMessage:
        try:
            parsed = json.loads(data)
        except ValueError as exc:
            raise MessageError(f"an attempt message is not JSON: {exc}") from None
        return cls.from_json(parsed)


def _field(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MessageError(
            f"attempt message: {name} must be {kind.__name__}, not {type(value).__name__}"
        )
    return value


_RUN_DATES = ("logical_date", "data_interval_start", "data_interval_end", "start_date", "end_date")
_TI_DATES = ("start_date", "end_date", "next_retry_at", "trigger_timeout")


def _run_json(run: DagRun) -> dict[str, Any]:
    data = {f.name: getattr(run, f.name) for f in fields(DagRun)}
    data["state"] = run.state.value
    return _dates_to_text(data, _RUN_DATES)


def _ti_json(ti: TaskInstance) -> dict[str, Any]:
    data = {f.name: getattr(ti, f.name) for f in fields(TaskInstance)}
    data["state"] = ti.state.value
    return _dates_to_text(data, _TI_DATES)


def _run_from(data: dict[str, Any]) -> DagRun:
    values = _dates_from_text(data, _RUN_DATES)
    values["state"] = DagRunState(values["state"])
    return DagRun(**values)


def _ti_from(data: dict[str, Any]) -> TaskInstance:
    values = _dates_from_text(data, _TI_DATES)
    values["state"] = TaskInstanceState(values["state"])
    return TaskInstance(**values)


def _dates_to_text(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    for name in names:
        if data[name] is not None:
            data[name] = data[name].isoformat()
    return data


def _dates_from_text(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    values = dict(data)
    for name in names:
        if values.get(name) is not None:
            values[name] = datetime.fromisoformat(values[name])
    return values
