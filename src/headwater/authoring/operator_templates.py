"""``BaseOperator.render_template``: render a value as a task's template fields are rendered.

The rendering lives in the task runtime, a layer above authoring: the package root plugs it
in with :func:`set_template_renderer`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from headwater.exceptions import DagDefinitionError

if TYPE_CHECKING:
    from headwater.authoring.operator import BaseOperator


class RendersTemplates:
    """Mixed into :class:`~headwater.authoring.operator.BaseOperator`."""

    task_id: str

    def render_template(
        self,
        content: Any,
        context: Mapping[str, Any],
        jinja_env: Any = None,
        seen_oids: set[int] | None = None,
    ) -> Any:
        """Render ``content`` with ``context`` as this task's template fields are rendered
        (Airflow's ``BaseOperator.render_template``): strings are Jinja templates, a string
        ending with one of :attr:`template_ext` names a template file (in the DAG file's
        folder or its ``template_searchpath``), and strings inside lists, tuples and dicts
        are rendered too. ``jinja_env`` replaces the DAG's Jinja environment; an object whose
        ``id`` is in ``seen_oids`` is returned as it is. Example, inside a task::

            context["task"].render_template("run {{ run_id }}", context)

        The rendering itself lives in the task runtime, a layer above authoring: the package
        wires it in with :func:`set_template_renderer`."""
        if seen_oids is not None and id(content) in seen_oids:
            return content
        if _template_renderer is None:
            raise DagDefinitionError(
                f"task {self.task_id!r}: render_template has no renderer: "
                "import headwater.runtime.templating to register it"
            )
        return _template_renderer(self, content, dict(context), jinja_env)  # type: ignore[arg-type]


TemplateRenderer = Callable[["BaseOperator", Any, dict[str, Any], Any], Any]
"""``renderer(task, content, context, jinja_env_or_None)``: what
:meth:`BaseOperator.render_template` renders with."""

_template_renderer: TemplateRenderer | None = None


def set_template_renderer(renderer: TemplateRenderer) -> None:
    """Say what :meth:`BaseOperator.render_template` renders with (the task runtime's
    templating, :func:`headwater.runtime.templating.render_for_task`)."""
    global _template_renderer
    _template_renderer = renderer
