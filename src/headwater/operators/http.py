"""HttpOperator: one HTTP request (or a bounded series of pages) as a task.

The answer is checked (``response_check``), shaped (``response_filter``) and pushed as the
task's XCom; a 4xx/5xx answer fails the task with the status and the start of the body.
Waiting for an endpoint to answer (HttpSensor) comes with the sensors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import httpx

from headwater.authoring.operator import BaseOperator
from headwater.exceptions import DagDefinitionError, HeadwaterError
from headwater.hooks.http import DEFAULT_RETRY_ON_STATUS, HttpHook
from headwater.masking import redact_text

MAX_PAGES = 1000
"""Most pages ``max_pages`` may allow: a pagination function that never returns None must
end in an error, not in an endless task."""

PAGE_ARGUMENTS = ("endpoint", "data", "headers", "params", "json", "extra_options")
"""What a pagination function's dict may set for the next request."""

LOGGED_BODY = 2000
"""Characters of each answer's body written to the task log with ``log_response=True``."""


class HttpOperatorError(HeadwaterError):
    """The answer did not pass ``response_check``, or pagination went wrong."""


class HttpOperator(BaseOperator):
    """Send an HTTP request to the service of connection ``http_conn_id``.

    Example::

        HttpOperator(
            task_id="create_user",
            http_conn_id="users_api",
            endpoint="v1/users",
            method="POST",
            json={"name": "ada", "day": "{{ ds }}"},
            response_check=lambda response: response.json()["created"],
            response_filter=lambda response: response.json()["id"],
        )

    ``endpoint``, ``data`` (the query string of a GET, else the body), ``headers`` and
    ``json`` (a JSON body) are templates.
    ``response_check(response)`` returning False fails the task. ``response_filter`` turns
    the answer into the XCom (default: its text). ``pagination_function(response)`` returns
    the arguments of the next request (merged into those of the previous one: ``endpoint``,
    ``data``, ``headers``, ``params``, ``json``, ``extra_options``) or None to stop; at most
    ``max_pages`` requests are sent, and ``response_filter`` then receives the list of every
    answer (default: the list of their texts). Retries: ``retry_limit``, ``retry_delay``,
    ``retry_on_status`` (see :class:`headwater.hooks.http.HttpHook`).
    """

    template_fields: Sequence[str] = ("endpoint", "data", "headers", "json")
    ui_color = "#e6f1f2"

    def __init__(
        self,
        *,
        endpoint: str = "",
        method: str = "POST",
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        http_conn_id: str = "http_default",
        response_check: Callable[[httpx.Response], Any] | None = None,
        response_filter: Callable[..., Any] | None = None,
        pagination_function: Callable[[httpx.Response], Mapping[str, Any] | None] | None = None,
        max_pages: int = 100,
        log_response: bool = False,
        extra_options: Mapping[str, Any] | None = None,
        retry_limit: int = 0,
        retry_delay: float = 1.0,
        retry_on_status: Iterable[int] = DEFAULT_RETRY_ON_STATUS,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.endpoint = endpoint
        self.method = method
        self.data = data
        self.headers = dict(headers) if headers is not None else None
        self.json = json
        self.http_conn_id = http_conn_id
        for name, fn in (
            ("response_check", response_check),
            ("response_filter", response_filter),
            ("pagination_function", pagination_function),
        ):
            if fn is not None and not callable(fn):
                raise DagDefinitionError(
                    f"task {self.task_id!r}: {name} must be a function of the response, "
                    f"got {fn!r:.80}"
                )
        self.response_check = response_check
        self.response_filter = response_filter
        self.pagination_function = pagination_function
        if (
            isinstance(max_pages, bool)
            or not isinstance(max_pages, int)
            or not 1 <= max_pages <= MAX_PAGES
        ):
            raise DagDefinitionError(
                f"task {self.task_id!r}: max_pages must be an int from 1 to {MAX_PAGES}, "
                f"got {max_pages!r}"
            )
        self.max_pages = max_pages
        self.log_response = log_response
        self.extra_options = dict(extra_options or {})
        self._hook_options: dict[str, Any] = {
            "retry_limit": retry_limit,
            "retry_delay": retry_delay,
            "retry_on_status": tuple(retry_on_status),
            "timeout": timeout,
        }
        try:
            self.make_hook()  # a bad method or retry setting fails when the DAG loads
        except HeadwaterError as exc:
            raise DagDefinitionError(f"task {self.task_id!r}: {exc}") from None

    def make_hook(self) -> HttpHook:
        """A fresh hook per attempt: it reads the connection as it is now."""
        return HttpHook(self.method, self.http_conn_id, **self._hook_options)

    def execute(self, context: dict[str, Any]) -> Any:
        log = context["ti"].log
        hook = self.make_hook()
        request: dict[str, Any] = {
            "endpoint": self.endpoint,
            "data": self.data,
            "headers": self.headers,
            "params": None,
            "json": self.json,
            "extra_options": self.extra_options,
        }
        responses: list[httpx.Response] = []
        while True:
            log.info("%s %s", hook.method, redact_text(hook.url_for(request["endpoint"])))
            response = hook.run(**request)
            responses.append(response)
            if self.log_response:
                shown = redact_text(response.text)[:LOGGED_BODY]
                log.info("Answer %d: %s", response.status_code, shown)
            self._check(response)
            if self.pagination_function is None:
                break
            following = self.pagination_function(response)
            if following is None:
                break
            if len(responses) >= self.max_pages:
                raise HttpOperatorError(
                    f"pagination_function still asked for a next page after {self.max_pages} "
                    "pages (max_pages); raise max_pages or make it return None at the end"
                )
            request = _next_request(request, following)
        if self.pagination_function is None:
            return self.response_filter(responses[0]) if self.response_filter else responses[0].text
        if self.response_filter is not None:
            return self.response_filter(responses)
        return [r.text for r in responses]

    def _check(self, response: httpx.Response) -> None:
        if self.response_check is not None and not self.response_check(response):
            raise HttpOperatorError(
                f"response_check returned False for the answer of {response.request.method} "
                f"{response.request.url} (status {response.status_code})"
            )


def _next_request(previous: dict[str, Any], following: Any) -> dict[str, Any]:
    """The previous request's arguments with the pagination function's merged in: dicts
    (``params``, ``headers``, a dict ``data`` or ``json``) key by key, the rest replaced."""
    if not isinstance(following, Mapping):
        raise HttpOperatorError(
            f"pagination_function must return a dict of request arguments or None, got "
            f"{following!r:.80}"
        )
    unknown = sorted(set(following) - set(PAGE_ARGUMENTS))
    if unknown:
        raise HttpOperatorError(
            f"pagination_function returned unknown argument(s) {', '.join(map(repr, unknown))}; "
            f"it may set {', '.join(PAGE_ARGUMENTS)}"
        )
    merged = dict(previous)
    for name, value in following.items():
        before = merged.get(name)
        if isinstance(before, Mapping) and isinstance(value, Mapping):
            merged[name] = {**before, **value}
        else:
            merged[name] = value
    return merged
