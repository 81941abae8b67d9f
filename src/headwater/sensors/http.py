"""HttpSensor: waits until an HTTP endpoint answers as expected."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import httpx

from headwater.exceptions import DagDefinitionError, HeadwaterError
from headwater.hooks.http import HttpHook
from headwater.masking import redact_text
from headwater.sensors.base import BaseSensorOperator
from headwater.sensors.deferring import defer_sensor, event_error
from headwater.triggers.http import (
    DEFAULT_ALLOWLIST,
    HttpConditionError,
    HttpTrigger,
    ResponseCondition,
    allowlist_codes,
    request_arguments,
    response_met,
)

ResponseCheck = Callable[..., Any] | ResponseCondition


class HttpSensorError(HeadwaterError):
    """A deferred HttpSensor's trigger reported an error answer or an unreachable server."""


class HttpSensor(BaseSensorOperator):
    """Sends ``method`` ``endpoint`` to the service of ``http_conn_id`` at each poke.

    An answer whose status is in ``response_error_codes_allowlist`` (404 by default) means
    "not yet"; another 4xx/5xx answer fails the task. Otherwise ``response_check`` decides:
    a function of the response (it may also take context keys by name, as a
    PythonOperator's callable does), or a :class:`~headwater.triggers.ResponseCondition`
    (statuses, a JSON path's value, a substring); without one, any answer below 400 ends the
    wait. ``request_params`` are the query string of a GET (else the body). With
    ``deferrable=True`` the sensor checks once, then waits in the triggerer
    (:class:`~headwater.triggers.HttpTrigger`), which needs a ResponseCondition, not a
    function. ``endpoint``, ``request_params`` and ``headers`` are templates. Example::

        HttpSensor(task_id="wait_for_job", http_conn_id="jobs_api", endpoint="v1/jobs/{{ ds }}",
                   response_check=ResponseCondition(json_path="state", equals="done"),
                   deferrable=True)
    """

    template_fields: Sequence[str] = ("endpoint", "request_params", "headers")
    ui_color = "#e6f1f2"

    def __init__(
        self,
        *,
        endpoint: str,
        http_conn_id: str = "http_default",
        method: str = "GET",
        request_params: Mapping[str, Any] | str | None = None,
        headers: Mapping[str, str] | None = None,
        response_check: ResponseCheck | None = None,
        extra_options: Mapping[str, Any] | None = None,
        response_error_codes_allowlist: Iterable[int | str] = DEFAULT_ALLOWLIST,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.endpoint = endpoint
        self.http_conn_id = http_conn_id
        self.request_params = (
            dict(request_params) if isinstance(request_params, Mapping) else request_params
        )
        self.headers = dict(headers or {})
        self.extra_options = dict(extra_options or {})
        self.deferrable = bool(deferrable)
        try:
            self.method = HttpHook(method, http_conn_id).method
            self.response_error_codes_allowlist = allowlist_codes(response_error_codes_allowlist)
            if self.deferrable:  # the trigger's requests take fewer options than the hook's
                request_arguments(self.method, None, self.extra_options)
        except HeadwaterError as exc:
            raise DagDefinitionError(f"task {self.task_id!r}: {exc}") from None
        if response_check is not None and not isinstance(response_check, ResponseCondition):
            if not callable(response_check):
                raise DagDefinitionError(
                    f"task {self.task_id!r}: response_check must be a function of the response "
                    f"or a ResponseCondition, got {response_check!r:.80}"
                )
            if self.deferrable:
                raise DagDefinitionError(
                    f"task {self.task_id!r}: deferrable=True needs a response_check the "
                    "triggerer can store: a ResponseCondition (statuses, json_path, equals, "
                    "contains), not a function"
                )
        self.response_check = response_check

    def poke(self, context: dict[str, Any]) -> bool:
        hook = HttpHook(self.method, self.http_conn_id, check_response=False)
        log = getattr(context.get("ti"), "log", None)
        if log is not None:
            log.info("Poking: %s %s", self.method, redact_text(hook.url_for(self.endpoint)))
        response = hook.run(
            self.endpoint,
            data=self.request_params,
            headers=self.headers,
            extra_options=self.extra_options,
        )
        condition = (
            self.response_check if isinstance(self.response_check, ResponseCondition) else None
        )
        met = response_met(response, condition, self.response_error_codes_allowlist)
        if met and callable(self.response_check):
            met = bool(_call_check(self.response_check, response, context))
        if log is not None and not met:
            log.info("Answer %d does not meet the condition yet", response.status_code)
        return met

    def execute(self, context: dict[str, Any]) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        condition = (
            self.response_check if isinstance(self.response_check, ResponseCondition) else None
        )
        try:
            trigger = HttpTrigger(
                endpoint=self.endpoint,
                http_conn_id=self.http_conn_id,
                method=self.method,
                data=self.request_params,
                headers=self.headers,
                extra_options=self.extra_options,
                response_check=condition,
                response_error_codes_allowlist=self.response_error_codes_allowlist,
                poke_interval=self.poke_interval.total_seconds() or 1.0,
            )
        except HttpConditionError as exc:
            raise HeadwaterError(f"task {self.task_id!r}: {exc}") from None
        defer_sensor(self, trigger)

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> None:
        """Resumed by the trigger: done, or the error its event reports."""
        message = event_error(event)
        if message is not None:
            raise HttpSensorError(f"task {self.task_id!r}: {message}")


def _call_check(
    check: Callable[..., Any], response: httpx.Response, context: dict[str, Any]
) -> Any:
    """``check(response)``, with the context keys it names as keyword arguments (all of
    them when it takes ``**kwargs``), as Airflow's HttpSensor calls it."""
    parameters = inspect.signature(check).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return check(response, **context)
    names = [p.name for p in parameters][1:]
    return check(response, **{name: context[name] for name in names if name in context})
