"""Rendering operators' template fields with Jinja2.

Strings are rendered with the attempt's context; values that end with one of the operator's
``template_ext`` (``.sh``, ``.sql``) are read from the DAG file's folder (or the DAG's
``template_searchpath``) first. References to other tasks' values are resolved, not rendered.
An undefined name is an error that names the task, the field and the name.
"""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from headwater.authoring.mapping import ResolvedValue
from headwater.authoring.xcom_arg import XComArg
from headwater.exceptions import HeadwaterError, TemplateRenderError

if TYPE_CHECKING:
    import jinja2

    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator

_MARKERS = ("{{", "{%", "{#")


@functools.lru_cache(maxsize=64)
def _environment(searchpath: tuple[str, ...], native: bool = False) -> jinja2.Environment:
    """A Jinja2 environment loading templates from ``searchpath``; with ``native``, one
    whose templates render to Python objects (``jinja2.nativetypes``)."""
    import jinja2
    import jinja2.nativetypes

    kind = jinja2.nativetypes.NativeEnvironment if native else jinja2.Environment
    env = kind(
        loader=jinja2.FileSystemLoader(list(searchpath)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(
        ds=lambda d: d.strftime("%Y-%m-%d"),
        ds_nodash=lambda d: d.strftime("%Y%m%d"),
        ts=lambda d: d.isoformat(),
        ts_nodash=lambda d: d.strftime("%Y%m%dT%H%M%S"),
    )
    return env


def environment_for(dag: DAG | None) -> jinja2.Environment:
    """The Jinja2 environment of ``dag``: templates load from its file's folder and its
    ``template_searchpath``; its ``user_defined_macros`` are names every template sees and
    its ``user_defined_filters`` are filters; ``render_template_as_native_obj`` makes
    templates render to Python objects."""
    if dag is None:
        return _environment(())
    macros = getattr(dag, "user_defined_macros", None) or {}
    filters = getattr(dag, "user_defined_filters", None) or {}
    native = bool(getattr(dag, "render_template_as_native_obj", False))
    key = (
        dag.fileloc,
        tuple(dag.template_searchpath),
        native,
        # By identity: the values need not be hashable, and a new one means a new environment.
        tuple((name, id(value)) for name, value in macros.items()),
        tuple((name, id(value)) for name, value in filters.items()),
    )
    cached = _dag_environments.get(dag)
    if cached is not None and cached[0] == key:
        return cached[1]
    folders = (os.path.dirname(os.path.abspath(dag.fileloc)), *dag.template_searchpath)
    env = _environment(folders, native)
    if macros or filters:
        # The shared environment must not see this DAG's names: an overlay of it has them
        # (an overlay shares its parent's dicts, so it gets copies).
        env = env.overlay()
        env.globals = {**env.globals, **macros}
        env.filters = {**env.filters, **filters}
    _dag_environments[dag] = (key, env)
    return env


# Each DAG's environment, with what it was built from (file, search path, macros, ...).
_dag_environments: weakref.WeakKeyDictionary[DAG, tuple[tuple[Any, ...], jinja2.Environment]] = (
    weakref.WeakKeyDictionary()
)


def render_string(
    text: str,
    context: dict[str, Any],
    env: jinja2.Environment,
    template_ext: Sequence[str] = (),
) -> Any:
    """Render ``text`` (or the file it names) with ``context``: text, or a Python object
    in a native environment (``render_template_as_native_obj``)."""
    if template_ext and text.endswith(tuple(template_ext)):
        template = env.get_template(text)
    elif any(marker in text for marker in _MARKERS):
        template = env.from_string(text)
    else:
        return text
    try:
        return template.render(context)
    except TemplateRenderError:
        raise
    except HeadwaterError as exc:  # a variable or connection the template names is missing
        raise TemplateRenderError(str(exc)) from None


def render_value(
    value: Any,
    context: dict[str, Any],
    env: jinja2.Environment,
    template_ext: Sequence[str],
    resolve: Callable[[XComArg], Any],
) -> Any:
    """Render strings nested in lists, tuples and dicts; resolve references."""
    if isinstance(value, str):
        return render_string(value, context, env, template_ext)
    if isinstance(value, XComArg):
        return resolve(value)
    if isinstance(value, ResolvedValue):
        return value.value
    if isinstance(value, list):
        return [render_value(v, context, env, template_ext, resolve) for v in value]
    if isinstance(value, tuple):
        return tuple(render_value(v, context, env, template_ext, resolve) for v in value)
    if isinstance(value, dict):
        return {k: render_value(v, context, env, template_ext, resolve) for k, v in value.items()}
    return value


def render_template_fields(
    task: BaseOperator,
    context: dict[str, Any],
    resolve: Callable[[XComArg], Any],
) -> dict[str, Any]:
    """Render every template field of ``task`` in place; returns the rendered values."""
    import jinja2

    env = environment_for(task.dag)
    rendered: dict[str, Any] = {}
    for name in task.template_fields:
        value = getattr(task, name, None)
        if value is None:
            continue
        try:
            result = render_value(value, context, env, task.template_ext, resolve)
        except (TemplateRenderError, jinja2.TemplateError) as exc:
            raise _explained(exc, f"task {task.task_id!r}: template field {name!r}", env) from None
        setattr(task, name, result)
        rendered[name] = result
    return rendered


def render_for_task(
    task: BaseOperator,
    content: Any,
    context: dict[str, Any],
    jinja_env: jinja2.Environment | None = None,
) -> Any:
    """What ``task.render_template(content, context)`` does (registered with
    ``set_template_renderer`` by the package root): render ``content`` as a
    template field of ``task`` is rendered, with its DAG's environment unless ``jinja_env``
    is given. A reference to another task's value cannot be resolved here: it is refused."""
    import jinja2

    env = jinja_env if jinja_env is not None else environment_for(task.dag)

    def refuse(reference: XComArg) -> Any:
        raise TemplateRenderError(
            f"{reference!r} is a reference to another task's value; pass it to the task as "
            "an argument to have it resolved"
        )

    try:
        return render_value(content, context, env, task.template_ext, refuse)
    except (TemplateRenderError, jinja2.TemplateError) as exc:
        raise _explained(exc, f"task {task.task_id!r}: render_template", env) from None


def _explained(exc: Exception, where: str, env: jinja2.Environment) -> TemplateRenderError:
    """A TemplateRenderError for ``exc`` that says ``where`` it happened and what went wrong
    (the undefined name, the file not found and where it was looked for, the syntax error)."""
    import jinja2

    if isinstance(exc, jinja2.TemplateNotFound):
        searchpath = list(getattr(env.loader, "searchpath", []))
        return TemplateRenderError(f"{where}: template file {exc.name!r} not found in {searchpath}")
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return TemplateRenderError(
            f"{where}: syntax error in {exc.name or 'template'}, line {exc.lineno}: {exc.message}"
        )
    if isinstance(exc, jinja2.TemplateError):  # UndefinedError and the rest
        return TemplateRenderError(f"{where}: {exc.message or type(exc).__name__}")
    return TemplateRenderError(f"{where}: {exc}")
