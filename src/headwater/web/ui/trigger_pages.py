"""The trigger form: a run with params, from a form generated from the DAG's params.

Each param of the DAG's JSON Schema becomes a field of its type (text, number, checkbox,
a select for an enum, a date input for the ``date`` and ``date-time`` formats, a JSON text
area for arrays and objects), with its default, its description as help and a mark when it
is required. ``static/dags.js`` checks the form in the browser, sends it to ``POST
/api/v1/dags/{dag_id}/runs``, shows the server's refusals under their fields, and opens the
new run in the grid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from headwater.services.dag_details import get_dag_detail
from headwater.web.context import Ctx
from headwater.web.security import require_dag_read
from headwater.web.ui.templating import PagePrincipal, render

router = APIRouter(include_in_schema=False)

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


@dataclass
class ParamField:
    """One param as a form field: how to draw it and what to check before sending."""

    name: str
    kind: str
    """``text``, ``number``, ``checkbox``, ``select``, ``date``, ``datetime`` or ``json``."""
    required: bool
    description: str | None = None
    value: str = ""
    """The default, as the input's value (JSON text for ``json`` and non-string options)."""
    checked: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    """``(value, label)`` of a select."""
    attributes: dict[str, str] = field(default_factory=dict)
    """HTML constraints: min, max, step, minlength, maxlength, pattern."""
    json_value: bool = False
    """The value is sent parsed as JSON (numbers, non-string options, arrays, objects)."""


@router.get("/dags/{dag_id}/trigger", response_class=HTMLResponse)
def trigger_page(dag_id: str, request: Request, ctx: Ctx, principal: PagePrincipal) -> HTMLResponse:
    """The params form of ``dag_id`` (the submit button only for roles that may trigger)."""
    require_dag_read(ctx, principal, dag_id)
    dag = get_dag_detail(ctx, dag_id)
    schema = dag.params_schema
    required = set(schema.get("required", []))
    fields = [
        param_field(name, prop, name in required)
        for name, prop in schema.get("properties", {}).items()
    ]
    return render(
        request,
        "dags_trigger.html",
        principal,
        {
            "dag": dag,
            "dag_id": dag.dag_id,
            "display_name": dag.display_name,
            "paused": dag.paused,
            "tags": dag.tags,
            "description": dag.description,
            "active_tab": "trigger",
            "fields": fields,
            "can_trigger": principal.can_operate_dag(dag.tags) and dag.active,
        },
    )


def param_field(name: str, prop: dict[str, Any], required: bool) -> ParamField:
    """The form field of param ``name`` with JSON Schema ``prop``."""
    default = prop.get("default")
    has_default = "default" in prop
    out = ParamField(name=name, kind="text", required=required, description=prop.get("description"))
    kind = _type_of(prop, default if has_default else None)
    if "enum" in prop:
        values = list(prop["enum"])
        out.kind = "select"
        out.json_value = not all(isinstance(v, str) for v in values)
        out.options = [(_option(v, out.json_value), str(v)) for v in values]
        out.value = _option(default, out.json_value) if has_default else ""
    elif kind == "boolean":
        out.kind = "checkbox"
        out.checked = default is True
    elif kind in ("integer", "number"):
        out.kind = "number"
        out.json_value = True
        out.attributes["step"] = "1" if kind == "integer" else "any"
        for key, attribute in (("minimum", "min"), ("maximum", "max")):
            if key in prop:
                out.attributes[attribute] = str(prop[key])
        out.value = "" if default is None else str(default)
    elif kind == "string":
        fmt = str(prop.get("format") or "")
        out.kind = {"date": "date", "date-time": "datetime"}.get(fmt, "text")
        for key, attribute in (("minLength", "minlength"), ("maxLength", "maxlength")):
            if key in prop:
                out.attributes[attribute] = str(prop[key])
        if "pattern" in prop:
            out.attributes["pattern"] = str(prop["pattern"])
        value = default if isinstance(default, str) else ""
        out.value = value[:16] if out.kind == "datetime" else value
    else:  # arrays, objects, and params that take anything
        out.kind = "json"
        out.json_value = True
        out.value = json.dumps(default, indent=2) if has_default else ""
    return out


def _type_of(prop: dict[str, Any], default: Any) -> str | None:
    """The param's JSON type: its schema's (the first that is not null), else its default's."""
    declared = prop.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), None)
    if isinstance(declared, str):
        return declared
    return _JSON_TYPES.get(type(default))


def _option(value: Any, as_json: bool) -> str:
    return json.dumps(value) if as_json else str(value)
