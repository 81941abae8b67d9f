"""DAG params: typed, validated run inputs with defaults that a run's conf overrides."""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from headwater.exceptions import ParamValidationError

if TYPE_CHECKING:
    from jsonschema import FormatChecker


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


class Param:
    """A run input with a default and a JSON Schema it must satisfy.

    Example: ``Param("eu", enum=["eu", "us"], description="region to load")`` or
    ``Param(7, type="integer", minimum=1)``. A ``Param()`` with no default is required.
    ``format`` is checked (``Param("2024-01-01", type="string", format="date")``) for the
    formats :func:`checked_formats` lists.
    """

    def __init__(
        self, default: Any = NO_DEFAULT, *, description: str | None = None, **schema: Any
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
    """jsonschema's draft 2020-12 format checker (``date-time`` through rfc3339-validator)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator.FORMAT_CHECKER


def checked_formats() -> list[str]:
    """The JSON Schema ``format`` values params check; other formats are accepted unchecked.

    ``date``, ``date-time``, ``email``, ``idn-email``, ``ipv4``, ``ipv6``, ``regex`` and
    ``uuid`` with jsonschema alone; more when its optional format packages are installed.
    """
    return sorted(_format_checker().checkers)


def normalize_params(params: Mapping[str, Any] | None) -> dict[str, Param]:
    """Wrap plain values as ``Param(value)`` so every param has the same shape."""
    return {k: (v if isinstance(v, Param) else Param(v)) for k, v in (params or {}).items()}


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
