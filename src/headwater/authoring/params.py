"""DAG params: typed, validated run inputs with defaults that a run's conf overrides."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from headwater.exceptions import DagDefinitionError, ParamValidationError

if TYPE_CHECKING:
    from jsonschema import FormatChecker


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


class Param:
    """A run input with a default and a JSON Schema it must satisfy.

    Example: ``Param("eu", enum=["eu", "us"], description="region to load")``,
    ``Param("eu", "region to load")`` (default and description by position, as Airflow) or
    ``Param(7, type="integer", minimum=1)``. A ``Param()`` with no default is required.
    ``format`` is checked (``Param("2024-01-01", type="string", format="date")``) for the
    formats :func:`checked_formats` lists.
    """

    def __init__(
        self, default: Any = NO_DEFAULT, description: str | None = None, **schema: Any
    ) -> None:
        self.default = default
        self.description = description
        self.schema = schema
        if schema:
            _check_schema(schema)

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT

    def resolve(self, name: str, value: Any = NO_DEFAULT) -> Any:
        """Validate ``value`` (or the default) and return it; errors name the param."""
        if value is NO_DEFAULT:
            value = self.default
        if value is NO_DEFAULT:
            raise ParamValidationError(f"param {name!r} is required and has no default")
        problem = self.problem(value)
        if problem is not None:
            where, message = problem
            raise ParamValidationError(f"param {name!r}{where}: {message} (value: {value!r:.80})")
        return copy.deepcopy(value)

    def problem(self, value: Any) -> tuple[str, str] | None:
        """Why ``value`` does not satisfy the schema, as (path inside it, message); or None.

        The path is ``""`` for the value itself, else like ``"['key'][0]"``.
        """
        if not self.schema:
            return None
        from jsonschema import Draft202012Validator

        validator = Draft202012Validator(self.schema, format_checker=_format_checker())
        errors = sorted(validator.iter_errors(value), key=lambda e: e.path)
        if not errors:
            return None
        return "".join(f"[{p!r}]" for p in errors[0].absolute_path), errors[0].message

    def check_default(self, name: str) -> None:
        """Raise :class:`ParamValidationError` if the default does not satisfy the schema.

        A param without a default (required) passes: a run must give it.
        """
        if not self.has_default:
            return
        problem = self.problem(self.default)
        if problem is not None:
            where, message = problem
            raise ParamValidationError(
                f"param {name!r}: the default {self.default!r:.80} does not satisfy the "
                f"param's schema: {where + ': ' if where else ''}{message}"
            )

    def __repr__(self) -> str:
        return f"Param({self.default!r}, **{self.schema!r})"


def _check_schema(schema: dict[str, Any]) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ParamValidationError(f"invalid Param schema {schema!r}: {exc.message}") from None


@functools.cache
def _format_checker() -> FormatChecker:
    """jsonschema's draft 2020-12 format checker (``date-time`` through rfc3339-validator),
    whose ``time`` also takes a time without an offset (``"12:13:14"``), as Airflow's params
    and its trigger form do."""
    from jsonschema import Draft202012Validator, FormatChecker

    draft = Draft202012Validator.FORMAT_CHECKER
    checker = FormatChecker(())
    checker.checkers = dict(draft.checkers)
    if "time" in draft.checkers:

        @checker.checks("time")
        def _time(instance: object) -> bool:
            return draft.conforms(instance, "time") or _plain_time(instance)

    return checker


def _plain_time(instance: object) -> bool:
    """Whether ``instance`` is ``HH:MM:SS`` (an optional fraction), without an offset."""
    from datetime import time

    if not isinstance(instance, str) or len(instance) < 8:
        return False
    try:
        time.fromisoformat(instance)
    except ValueError:
        return False
    return instance[2] == ":" and instance[5] == ":"


def checked_formats() -> list[str]:
    """The JSON Schema ``format`` values params check; other formats are accepted unchecked.

    ``date``, ``date-time``, ``email``, ``idn-email``, ``ipv4``, ``ipv6``, ``regex`` and
    ``uuid`` with jsonschema alone; more when its optional format packages are installed.
    """
    return sorted(_format_checker().checkers)


class ParamsDict(MutableMapping[str, Any]):
    """A mapping of params by name, accepted wherever params are (``DAG(params=...)``, an
    operator's ``params=``), as Airflow's ``ParamsDict``.

    It holds :class:`Param` objects (a plain value is wrapped as ``Param(value)``); reading
    a name gives the param's value (its default, checked against its schema), and
    :meth:`get_param` the ``Param`` itself. Example::

        params = ParamsDict({"region": Param("eu", enum=["eu", "us"]), "days": 7})
        params["days"]                     # 7
        params.get_param("region").schema  # {"enum": ["eu", "us"]}
    """

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self._params: dict[str, Param] = normalize_params(params)

    def __getitem__(self, name: str) -> Any:
        return self._params[name].resolve(name)

    def __setitem__(self, name: str, value: Any) -> None:
        self._params[name] = value if isinstance(value, Param) else Param(value)

    def __delitem__(self, name: str) -> None:
        del self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def get_param(self, name: str) -> Param:
        """The :class:`Param` named ``name`` (``KeyError`` when there is none)."""
        return self._params[name]

    def params(self) -> dict[str, Param]:
        """A copy of the params by name, as ``Param`` objects."""
        return dict(self._params)

    def validate(self) -> dict[str, Any]:
        """Every param's value, each checked against its schema (errors name the param)."""
        return {name: param.resolve(name) for name, param in self._params.items()}

    def __repr__(self) -> str:
        return f"ParamsDict({self._params!r})"


def normalize_params(params: Mapping[str, Any] | None) -> dict[str, Param]:
    """Wrap plain values as ``Param(value)`` so every param has the same shape; a
    :class:`ParamsDict` gives its own ``Param`` objects."""
    if isinstance(params, ParamsDict):
        return params.params()
    return {k: (v if isinstance(v, Param) else Param(v)) for k, v in (params or {}).items()}


def check_params(params: Any, owner: str) -> dict[str, Param]:
    """``params`` (a mapping of name to ``Param`` or default value, or a
    :class:`ParamsDict`) as ``Param`` objects, each default checked against its schema.

    ``owner`` (``"DAG 'etl'"``, ``"task 'load'"``) starts every error message: a
    :class:`DagDefinitionError` for something that is not a mapping, a
    :class:`ParamValidationError` for a default its schema refuses.
    """
    if params is not None and not isinstance(params, Mapping):
        raise DagDefinitionError(
            f"{owner}: params must be a dict of name -> Param or default value, got {params!r:.80}"
        )
    try:
        normalized = normalize_params(params)
        for name, param in normalized.items():
            param.check_default(name)
    except ParamValidationError as exc:
        raise ParamValidationError(f"{owner}: {exc}") from None
    return normalized


def task_params(
    run_params: Mapping[str, Any] | None,
    params: Mapping[str, Param],
    conf: Mapping[str, Any] | None,
    task_id: str,
) -> dict[str, Any]:
    """The params one task sees: the run's (the DAG's params with the run's conf over
    them), with the task's own ``params`` over those, and the run's conf over both.

    Each task param is validated against its own schema; a failure names the task. Each
    call returns a fresh copy, so a task that changes its params changes no other's.
    """
    resolved = copy.deepcopy(dict(run_params)) if run_params else {}
    given = conf if isinstance(conf, Mapping) else {}
    try:
        for name, param in params.items():
            resolved[name] = param.resolve(name, given.get(name, NO_DEFAULT))
    except ParamValidationError as exc:
        raise ParamValidationError(f"task {task_id!r}: {exc}") from None
    return resolved


def resolve_params(params: Mapping[str, Param], conf: Mapping[str, Any] | None) -> dict[str, Any]:
    """The params of one run: defaults overridden by ``conf``, each validated.

    Keys of ``conf`` that are not params are kept as extra params (as in Airflow). A
    ``conf`` that is not a mapping (a JSON object) is a :class:`ParamValidationError`.
    """
    if conf is None:
        conf = {}
    elif not isinstance(conf, Mapping):
        raise ParamValidationError(
            f"conf must be a JSON object (a dict), got {type(conf).__name__}: {conf!r:.80}"
        )
    conf = dict(conf)
    resolved = {name: p.resolve(name, conf.pop(name, NO_DEFAULT)) for name, p in params.items()}
    resolved.update(conf)
    return resolved
