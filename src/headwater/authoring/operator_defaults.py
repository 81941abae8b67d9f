"""The defaults of a task's arguments: :data:`BASE_DEFAULTS`, the operator arguments a DAG's
``default_args`` may supply, and their own defaults; :data:`NOTSET`, what an argument that
was not given holds, so that ``None`` can be given."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from headwater.authoring.trigger_rule import TriggerRule

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG

__all__ = ["BASE_DEFAULTS", "NOTSET", "with_defaults"]


class _NotSet:
    def __repr__(self) -> str:
        return "NOTSET"


NOTSET: Any = _NotSet()

BASE_DEFAULTS: dict[str, Any] = {
    "retries": 0,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": False,
    "max_retry_delay": None,
    "retry_policy": None,
    "execution_timeout": None,
    "trigger_rule": TriggerRule.ALL_SUCCESS,
    "pool": "default_pool",
    "pool_slots": 1,
    "priority_weight": 1,
    "weight_rule": "absolute",
    "queue": "default",
    "owner": "headwater",
    "on_success_callback": None,
    "on_failure_callback": None,
    "on_retry_callback": None,
    "on_skipped_callback": None,
    "sla": None,
    "doc_md": None,
    "email": None,
    "email_on_failure": True,
    "email_on_retry": True,
    "do_xcom_push": True,
    "depends_on_past": False,
    "wait_for_downstream": False,
    "ignore_first_depends_on_past": True,
}
"""Operator arguments a DAG's default_args may supply, and their defaults."""


def with_defaults(
    given: Mapping[str, Any], dag: DAG | None, own: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``given`` (arguments named in :data:`BASE_DEFAULTS`) with each one that is
    :data:`NOTSET` replaced by the operator's ``own`` default_args, else the ``default_args``
    of ``dag``, else its base default (as in Airflow; other keys are for other operators)."""
    defaults = dict(BASE_DEFAULTS)
    if dag is not None:  # Airflow's DAG: Airflow's default weight rule
        defaults["weight_rule"] = dag.default_weight_rule
    for default_args in (dag.default_args if dag is not None else None, own):
        if default_args:
            defaults.update({k: v for k, v in default_args.items() if k in BASE_DEFAULTS})
    return {k: (defaults[k] if v is NOTSET else v) for k, v in given.items()}
