"""HttpTrigger: polls an HTTP endpoint until its answer meets a :class:`ResponseCondition`,
and the rule it shares with :class:`~headwater.sensors.HttpSensor` (:func:`response_met`).

An answer is judged in this order: a status the condition names is judged by the
condition's body checks; a status of ``response_error_codes_allowlist`` (404 by default:
"not there yet") means wait; any other 4xx/5xx status is an error; a status the condition
does not name means wait; otherwise the body checks decide. Example::

    HttpTrigger(http_conn_id="jobs_api", endpoint="v1/jobs/42",
                response_check=ResponseCondition(json_path="state", equals="done"))
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from headwater.exceptions import HeadwaterError
from headwater.hooks.http import HttpHook, raise_for_status
from headwater.masking import redact_text
from headwater.triggers.base import BaseTrigger, TriggerEvent, trigger_classpath

DEFAULT_ALLOWLIST = (404,)
"""Error statuses that mean "not yet" rather than "failed" (Airflow's default)."""

REQUEST_OPTIONS = ("timeout", "follow_redirects")
"""What a trigger's ``extra_options`` may set for its requests."""

_BODYLESS = ("GET", "HEAD", "DELETE", "OPTIONS")


class HttpConditionError(HeadwaterError):
    """A response condition or an HTTP trigger is set up wrongly."""


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""``equals`` not given: the value at ``json_path`` only has to be truthy."""


@dataclass(frozen=True)
class ResponseCondition:
    """A ``response_check`` that can be stored as JSON (so a deferred sensor can use it):

    * ``status_codes``: the statuses that may meet it (default: any below 400);
    * ``json_path``: a dotted path into the JSON body (``"job.state"``, ``"items.0.id"``)
      whose value must equal ``equals`` or, without ``equals``, be truthy;
    * ``contains``: text the body must contain.

    Example: ``ResponseCondition(json_path="state", equals="done")``.
    """

    status_codes: tuple[int, ...] = ()
    json_path: str | None = None
    equals: Any = field(default=UNSET)
    contains: str | None = None

    def __post_init__(self) -> None:
        codes = tuple(self.status_codes)
        for code in codes:
            if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
                raise HttpConditionError(f"status_codes must hold HTTP statuses, got {code!r}")
        object.__setattr__(self, "status_codes", codes)
        if self.json_path is not None and (
            not isinstance(self.json_path, str) or not self.json_path
        ):
            raise HttpConditionError(f"json_path must be a dotted path, got {self.json_path!r}")
        if self.equals is not UNSET:
            if self.json_path is None:
                raise HttpConditionError("equals needs a json_path: the value to compare")
            try:
                json.dumps(self.equals)
            except (TypeError, ValueError):
                raise HttpConditionError(
                    f"equals must be a JSON value, got {self.equals!r}"
                ) from None
        if self.contains is not None and not isinstance(self.contains, str):
            raise HttpConditionError(f"contains must be text, got {self.contains!r}")

    def to_json(self) -> dict[str, Any]:
        """The condition as JSON (what :meth:`from_json` reads back)."""
        data: dict[str, Any] = {"status_codes": list(self.status_codes)}
        if self.json_path is not None:
            data["json_path"] = self.json_path
        if self.equals is not UNSET:
            data["equals"] = self.equals
        if self.contains is not None:
            data["contains"] = self.contains
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResponseCondition:
        unknown = sorted(set(data) - {"status_codes", "json_path", "equals", "contains"})
        if unknown:
            raise HttpConditionError(f"unknown response condition field(s) {unknown}")
        return cls(**{**data, "status_codes": tuple(data.get("status_codes") or ())})

    def body_met(self, text: str) -> bool:
        """Whether the body ``text`` passes the JSON path and ``contains`` checks."""
        if self.contains is not None and self.contains not in text:
            return False
        if self.json_path is None:
            return True
        try:
            value = json.loads(text)
        except ValueError:
            return False
        for step in self.json_path.split("."):
            if isinstance(value, Mapping) and step in value:
                value = value[step]
            elif (
                isinstance(value, list)
                and step.lstrip("-").isdigit()
                and -len(value) <= int(step) < len(value)
            ):
                value = value[int(step)]
            else:
                return False
        return bool(value) if self.equals is UNSET else bool(value == self.equals)


def allowlist_codes(codes: Iterable[int | str]) -> tuple[int, ...]:
    """Statuses given as ints or text (``"404"``, as Airflow's), as ints."""
    checked = []
    for code in codes:
        try:
            number = int(code)
        except (TypeError, ValueError):
            number = 0
        if isinstance(code, bool) or not 400 <= number <= 599:
            raise HttpConditionError(
                f"response_error_codes_allowlist must hold 4xx/5xx statuses, got {code!r}"
            )
        checked.append(number)
    return tuple(checked)


def response_met(
    response: httpx.Response,
    condition: ResponseCondition | None,
    allowlist: Iterable[int] = DEFAULT_ALLOWLIST,
) -> bool:
    """Whether ``response`` meets ``condition`` (True), means wait (False), or is an error
    (raises :class:`~headwater.hooks.http.HttpResponseError` naming the status and body)."""
    status = response.status_code
    if condition is not None and status in condition.status_codes:
        return condition.body_met(response.text)
    if status in tuple(allowlist):
        return False
    raise_for_status(response)
    if condition is None:
        return True
    if condition.status_codes and status not in condition.status_codes:
        return False
    return condition.body_met(response.text)


def request_arguments(
    method: str, data: Any, extra_options: Mapping[str, Any] | None
) -> dict[str, Any]:
    """httpx's request arguments for ``data`` (the query string of a GET, HEAD, DELETE or
    OPTIONS request, else the body: a dict as a form, text as it is) and ``extra_options``
    (``timeout``, ``follow_redirects``)."""
    options = dict(extra_options or {})
    unknown = sorted(set(options) - set(REQUEST_OPTIONS))
    if unknown:
        raise HttpConditionError(
            f"unknown extra_options {unknown}; they may set {', '.join(REQUEST_OPTIONS)}"
        )
    arguments: dict[str, Any] = dict(options)
    if data is None:
        return arguments
    if method.upper() in _BODYLESS:
        if not isinstance(data, Mapping):
            raise HttpConditionError(
                f"request_params of a {method} request go into the query string, so they must "
                f"be a dict, got {type(data).__name__}"
            )
        arguments["params"] = dict(data)
    elif isinstance(data, Mapping):
        arguments["data"] = dict(data)
    else:
        arguments["content"] = data
    return arguments


class HttpTrigger(BaseTrigger):
    """Sends ``method`` ``endpoint`` to the service of ``http_conn_id`` every
    ``poke_interval`` seconds until the answer meets ``response_check`` (a
    :class:`ResponseCondition` or its JSON; None: any answer below 400), judged as the
    module's docstring says.

    Fires with ``{"status": "success", "status_code": ...}``, or ``{"status": "error",
    "message": ...}`` for an error answer or a server that cannot be reached. ``data``,
    ``headers`` and ``extra_options`` must be JSON values.
    """

    def __init__(
        self,
        endpoint: str = "",
        http_conn_id: str = "http_default",
        method: str = "GET",
        data: Mapping[str, Any] | str | None = None,
        headers: Mapping[str, str] | None = None,
        extra_options: Mapping[str, Any] | None = None,
        response_check: ResponseCondition | Mapping[str, Any] | None = None,
        response_error_codes_allowlist: Iterable[int | str] = DEFAULT_ALLOWLIST,
        poke_interval: float = 5.0,
    ) -> None:
        if isinstance(poke_interval, bool) or not isinstance(poke_interval, int | float):
            raise HttpConditionError(f"poke_interval must be seconds, got {poke_interval!r}")
        if not poke_interval > 0:
            raise HttpConditionError(f"poke_interval must be > 0 seconds, got {poke_interval!r}")
        self.endpoint = endpoint
        self.http_conn_id = http_conn_id
        self.method = HttpHook(method, http_conn_id).method  # checked, upper case
        self.data = dict(data) if isinstance(data, Mapping) else data
        self.headers = dict(headers or {})
        self.extra_options = dict(extra_options or {})
        request_arguments(self.method, self.data, self.extra_options)  # checked now
        if response_check is None or isinstance(response_check, ResponseCondition):
            self.response_check = response_check
        elif isinstance(response_check, Mapping):
            self.response_check = ResponseCondition.from_json(response_check)
        else:
            raise HttpConditionError(
                "response_check of an HttpTrigger must be a ResponseCondition (a function "
                f"cannot be stored as JSON), got {response_check!r:.100}"
            )
        self.response_error_codes_allowlist = allowlist_codes(response_error_codes_allowlist)
        self.poke_interval = float(poke_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            trigger_classpath(self),
            {
                "endpoint": self.endpoint,
                "http_conn_id": self.http_conn_id,
                "method": self.method,
                "data": self.data,
                "headers": self.headers,
                "extra_options": self.extra_options,
                "response_check": (
                    None if self.response_check is None else self.response_check.to_json()
                ),
                "response_error_codes_allowlist": list(self.response_error_codes_allowlist),
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = HttpHook(self.method, self.http_conn_id)
        try:
            # Reading the connection may ask the metadata database: not on the event loop.
            settings = await asyncio.to_thread(hook.client_settings)
            url = hook.url_for(self.endpoint)
            arguments = request_arguments(self.method, self.data, self.extra_options)
            async with httpx.AsyncClient(
                headers={**settings.headers, **self.headers},
                auth=settings.auth,
                timeout=settings.timeout,
                verify=settings.verify,
            ) as client:
                while True:
                    response = await client.request(self.method, url, **arguments)
                    if response_met(
                        response, self.response_check, self.response_error_codes_allowlist
                    ):
                        break
                    await asyncio.sleep(self.poke_interval)
        except (HeadwaterError, httpx.HTTPError) as exc:
            message = redact_text(f"{type(exc).__name__}: {exc}")
            yield TriggerEvent({"status": "error", "message": message})
            return
        yield TriggerEvent({"status": "success", "status_code": response.status_code})
