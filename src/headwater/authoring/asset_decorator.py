"""The DAG an ``@asset`` function defines (:func:`headwater.authoring.assets.asset`).

Airflow 3's ``@asset`` functions take their arguments by parameter name, and so do these:

* ``self``: the asset the function materialises (``outlet_events[self].extra[...] = ...``);
* ``context``: the whole task context (``context["inlet_events"][...]``);
* a name of another asset (an ``@asset`` function defined earlier in the file, or any
  :class:`Asset` of the module whose variable or ``name`` it is): that asset, which becomes
  an inlet of the task, so ``inlet_events[upstream]`` lists its events;
* a context key (``outlet_events``, ``ds``, ``ti``...): its value, as for ``@task``
  (headwater's own ``@asset`` functions take them; Airflow's reach them through
  ``context``);
* a parameter with a default keeps it.

As in Airflow, every other parameter is an upstream asset: one named after no asset of the
module is the asset of that name (its URI is the name), as ``Asset(name=...)`` alone is.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from headwater.authoring.taskflow import CONTEXT_KEYS
from headwater.operators.python import PythonOperator, call_with_context

if TYPE_CHECKING:
    from headwater.authoring.assets import Asset
    from headwater.authoring.dag import DAG

_OWN = ("self", "context")


def asset_dag(function: Callable[..., Any], made: Asset, schedule: Any, **dag_kwargs: Any) -> DAG:
    """The one-task DAG, named after ``function``, whose task calls it and updates ``made``."""
    from headwater.authoring.dag import DAG

    inlets = upstream_assets(function)
    with DAG(function.__name__, schedule=schedule, **dag_kwargs) as dag:
        AssetTask(
            task_id=function.__name__,
            python_callable=function,
            outlets=[made],
            inlets=list(inlets.values()),
            asset=made,
            upstream=inlets,
        )
    code = getattr(function, "__code__", None)
    if code is not None:  # the DAG is defined where the function is, not here
        dag.fileloc = code.co_filename
    return dag


def upstream_assets(function: Callable[..., Any]) -> dict[str, Asset]:
    """The assets ``function``'s parameters name, by parameter (those with no default,
    other than ``self`` and ``context``), found among the module's globals."""
    from headwater.authoring.assets import Asset

    names = [
        name
        for name, param in inspect.signature(function).parameters.items()
        if name not in _OWN
        and name not in CONTEXT_KEYS
        and param.default is inspect.Parameter.empty
        and param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)
    ]
    module: Mapping[str, Any] = getattr(function, "__globals__", {})
    found: dict[str, Asset] = {}
    for name in names:
        value = module.get(name)
        if not isinstance(value, Asset):
            value = next(
                (v for v in module.values() if isinstance(v, Asset) and v.name == name),
                Asset(name=name),
            )
        found[name] = value
    return found


class AssetTask(PythonOperator):
    """The task of an ``@asset`` DAG: calls the function with ``self``, ``context`` and its
    upstream assets filled in (module docstring), then context keys by name."""

    def __init__(
        self, *, asset: Asset, upstream: Mapping[str, Asset] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.asset = asset
        self.upstream = dict(upstream or {})

    def execute(self, context: dict[str, Any]) -> Any:
        params = inspect.signature(self.python_callable).parameters
        given: dict[str, Any] = dict(self.upstream)
        if "self" in params:
            given["self"] = self.asset
        if "context" in params:
            given["context"] = context
        given.update(self.op_kwargs)
        return call_with_context(self.python_callable, self.op_args, given, context)
