"""The base of every task: ids, retries, timeouts, trigger rule, pool, callbacks, dependencies."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, KeysView, Mapping, Sequence
from datetime import time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, Self

from headwater.authoring import _definition_stacks
from headwater.authoring.assets import check_asset_references
from headwater.authoring.deadlines import check_sla
from headwater.authoring.dependencies import DependencyMixin
from headwater.authoring.operator_arguments import (
    as_int,
    as_timedelta,
    bounded,
    check_callback,
    check_hook,
    display_name,
    email_addresses,
    flag,
    non_negative_int,
    past_flags,
    refuse_unknown,
    unknown_arguments,
    validate_task_id,
)
from headwater.authoring.operator_defaults import NOTSET, with_defaults
from headwater.authoring.operator_templates import RendersTemplates
from headwater.authoring.params import Param, check_params
from headwater.authoring.retry_policies import RetryPolicy, check_retry_policy
from headwater.authoring.trigger_rule import TriggerRule
from headwater.authoring.weight_rule import WeightRule, check_weight_rule
from headwater.exceptions import DagDefinitionError

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.mapping import OperatorPartial
    from headwater.authoring.task_group import TaskGroup
    from headwater.authoring.xcom_arg import XComArg

Callback = Callable[[dict[str, Any]], Any]


MAX_POOL_SLOTS = 1_000_000
"""Most slots a pool has, and a task may take (``pool_slots``): far more than any worker
pool runs at once, and well inside the database's integer column (32 bits on PostgreSQL), so
a pasted or mistyped number is refused with a clear error, not by the database driver."""


class BaseOperator(RendersTemplates, DependencyMixin):
    """A unit of work in a DAG. Subclasses implement :meth:`execute`.

    Example::

        class Hello(BaseOperator):
            template_fields = ("name",)

            def __init__(self, *, name: str, **kwargs):
                super().__init__(**kwargs)
                self.name = name

            def execute(self, context):
                return f"hello {self.name}"
    """

    template_fields: Sequence[str] = ()
    """Attributes rendered with Jinja before :meth:`execute` runs."""
    template_ext: Sequence[str] = ()
    """A template field ending with one of these is read from a file next to the DAG file."""
    ui_color: ClassVar[str] = "#ffffff"
    custom_operator_name: ClassVar[str | None] = None
    """How commands name this operator (``tasks list``), e.g. ``"@task"``; None: the class name."""
    rendered_after_execute: ClassVar[tuple[str, ...]] = ()
    """Attributes that ``execute()`` itself renders (``@task.bash``'s command), recorded with
    the attempt's rendered template fields once ``execute()`` returns or raises."""

    is_setup: bool = False
    """A setup task (:meth:`as_setup`, ``@setup``); see ``authoring/setup_teardown.py``."""
    is_teardown: bool = False
    """A teardown task (:meth:`as_teardown`, ``@teardown``)."""
    on_failure_fail_dagrun: bool = False
    """For a teardown: whether its failure fails the run (else the run ignores it)."""

    _init_depth: int = 0
    _pre_execute_hook: Callable[[dict[str, Any]], Any] | None = None
    _post_execute_hook: Callable[[dict[str, Any], Any], Any] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def wrapped(self: BaseOperator, *args: Any, **kw: Any) -> None:
            depth = self._init_depth
            self._init_depth = depth + 1
            try:
                init(self, *args, **kw)
            except TypeError as exc:
                if depth == 0 and not _binds(init, self, args, kw):
                    # Called with wrong arguments (unknown, missing): name the task.
                    unknown = unknown_arguments(type(self), kw)
                    raise DagDefinitionError(
                        f"task {kw.get('task_id')!r} ({type(self).__name__}): "
                        + (f"{unknown}; " if unknown else "")
                        + str(exc)
                    ) from exc
                raise
            finally:
                self._init_depth = depth
            if depth == 0:
                self._after_init()

        cls.__init__ = wrapped  # type: ignore[method-assign]

    def __init__(
        self,
        *,
        task_id: str,
        dag: DAG | None = None,
        task_group: TaskGroup | None = None,
        retries: int = NOTSET,
        retry_delay: timedelta | float = NOTSET,
        retry_exponential_backoff: bool = NOTSET,
        max_retry_delay: timedelta | float | None = NOTSET,
        retry_policy: RetryPolicy | None = NOTSET,
        execution_timeout: timedelta | float | None = NOTSET,
        trigger_rule: str | TriggerRule = NOTSET,
        pool: str = NOTSET,
        pool_slots: int = NOTSET,
        priority_weight: int = NOTSET,
        weight_rule: str = NOTSET,
        queue: str = NOTSET,
        owner: str = NOTSET,
        on_success_callback: Callback | None = NOTSET,
        on_failure_callback: Callback | None = NOTSET,
        on_retry_callback: Callback | None = NOTSET,
        on_skipped_callback: Callback | None = NOTSET,
        sla: timedelta | time | None = NOTSET,
        doc_md: str | None = NOTSET,
        email: str | Iterable[str] | None = NOTSET,
        email_on_failure: bool = NOTSET,
        email_on_retry: bool = NOTSET,
        do_xcom_push: bool = NOTSET,
        depends_on_past: bool = NOTSET,
        wait_for_downstream: bool = NOTSET,
        ignore_first_depends_on_past: bool = NOTSET,
        outlets: Iterable[Any] | None = None,
        inlets: Iterable[Any] | None = None,
        params: Mapping[str, Any] | None = None,
        task_display_name: str | None = None,
        multiple_outputs: bool = False,
        pre_execute: Callable[[dict[str, Any]], Any] | None = None,
        post_execute: Callable[[dict[str, Any], Any], Any] | None = None,
        default_args: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> None:
        dag = dag if dag is not None else _definition_stacks.current_dag()
        if default_args is not None and not isinstance(default_args, Mapping):
            raise DagDefinitionError(
                f"task {task_id!r}: default_args must be a dict, got {default_args!r:.80}"
            )
        group = task_group if task_group is not None else _definition_stacks.current_group(dag)
        given = {
            "retries": retries,
            "retry_delay": retry_delay,
            "retry_exponential_backoff": retry_exponential_backoff,
            "max_retry_delay": max_retry_delay,
            "retry_policy": retry_policy,
            "execution_timeout": execution_timeout,
            "trigger_rule": trigger_rule,
            "pool": pool,
            "pool_slots": pool_slots,
            "priority_weight": priority_weight,
            "weight_rule": weight_rule,
            "queue": queue,
            "owner": owner,
            "on_success_callback": on_success_callback,
            "on_failure_callback": on_failure_callback,
            "on_retry_callback": on_retry_callback,
            "on_skipped_callback": on_skipped_callback,
            "sla": sla,
            "doc_md": doc_md,
            "email": email,
            "email_on_failure": email_on_failure,
            "email_on_retry": email_on_retry,
            "do_xcom_push": do_xcom_push,
            "depends_on_past": depends_on_past,
            "wait_for_downstream": wait_for_downstream,
            "ignore_first_depends_on_past": ignore_first_depends_on_past,
        }
        args = with_defaults(given, dag, default_args)

        validate_task_id(task_id)
        self.task_id: str = group.child_id(task_id) if group is not None else task_id
        if unknown:
            refuse_unknown(type(self), self.task_id, unknown)
        self.dag: DAG | None = None
        self.task_group: TaskGroup | None = group
        self.retries: int = non_negative_int(args["retries"], "retries", self.task_id)
        self.retry_delay: timedelta = as_timedelta(args["retry_delay"], "retry_delay", self.task_id)
        self.retry_exponential_backoff: bool = bool(args["retry_exponential_backoff"])
        self.max_retry_delay: timedelta | None = as_timedelta(
            args["max_retry_delay"], "max_retry_delay", self.task_id, optional=True
        )
        # Decides at failure time, from the exception (authoring/retry_policies.py).
        self.retry_policy: RetryPolicy | None = check_retry_policy(
            args["retry_policy"], self.task_id
        )
        self.execution_timeout: timedelta | None = as_timedelta(
            args["execution_timeout"], "execution_timeout", self.task_id, optional=True, zero=False
        )
        self.trigger_rule: TriggerRule = TriggerRule.parse(
            args["trigger_rule"], task_id=self.task_id
        )
        self.pool: str = args["pool"]
        self.pool_slots: int = bounded(
            non_negative_int(args["pool_slots"], "pool_slots", self.task_id),
            "pool_slots",
            self.task_id,
            0,
            MAX_POOL_SLOTS,
        )
        # Stored in a 32-bit column, as Airflow's; sums of weights are clamped, not these.
        self.priority_weight: int = bounded(
            as_int(args["priority_weight"], "priority_weight", self.task_id),
            "priority_weight",
            self.task_id,
            -(2**31),
            2**31 - 1,
        )
        # Whose weights its instances add to their own (authoring/weight_rule.py).
        self.weight_rule: WeightRule = check_weight_rule(args["weight_rule"], self.task_id)
        self.queue: str = args["queue"]
        self.owner: str = args["owner"]
        owner = f"task {self.task_id!r}"
        self.on_success_callback: Callback | None = check_callback(
            args["on_success_callback"], "on_success_callback", owner
        )
        self.on_failure_callback: Callback | None = check_callback(
            args["on_failure_callback"], "on_failure_callback", owner
        )
        self.on_retry_callback: Callback | None = check_callback(
            args["on_retry_callback"], "on_retry_callback", owner
        )
        # Called when the task skips itself (it raised SkipTask): headwater.notifications.
        self.on_skipped_callback: Callback | None = check_callback(
            args["on_skipped_callback"], "on_skipped_callback", owner
        )
        # By when the task must have finished (headwater.authoring.deadlines).
        self.sla: timedelta | time | None = check_sla(args["sla"], self.task_id)
        self.doc_md: str | None = args["doc_md"]
        # Who gets an alert email when an attempt fails (runtime/email_alerts.py).
        self.email: list[str] | None = email_addresses(args["email"], self.task_id)
        self.email_on_failure: bool = flag(args, "email_on_failure", self.task_id)
        self.email_on_retry: bool = flag(args, "email_on_retry", self.task_id)
        # The assets the task updates (an event for each when an attempt succeeds) and reads.
        self.outlets: list[Any] = check_asset_references(outlets, "outlets", self.task_id)
        self.inlets: list[Any] = check_asset_references(inlets, "inlets", self.task_id)
        # Whether the return value becomes the ``return_value`` XCom (runtime/task_runner.py).
        self.do_xcom_push: bool = flag(args, "do_xcom_push", self.task_id)
        # Whether an instance waits for this task's instance in the previous run (and its
        # direct downstream tasks' there): engine/past_runs.py.
        past = past_flags(args, self.task_id)
        self.depends_on_past: bool = past[0]
        self.wait_for_downstream: bool = past[1]
        self.ignore_first_depends_on_past: bool = past[2]
        if not isinstance(multiple_outputs, bool):
            raise DagDefinitionError(
                f"task {self.task_id!r}: multiple_outputs must be True or False, "
                f"got {multiple_outputs!r:.80}"
            )
        # A dict return value is also pushed key by key (subclasses may set it themselves).
        self.multiple_outputs: bool = multiple_outputs
        # Over the DAG's params in this task's context; the run's conf still wins.
        self.params: dict[str, Param] = check_params(params, owner)
        self.task_display_name: str = display_name(task_display_name, self.task_id)
        """How commands and pages name the task (its id unless ``task_display_name`` is
        given)."""
        self._pre_execute_hook = check_hook(pre_execute, "pre_execute", owner)
        self._post_execute_hook = check_hook(post_execute, "post_execute", owner)
        # Ordered (the order edges were set in), exposed as set-like views.
        self._upstream_ids: dict[str, None] = {}
        self._downstream_ids: dict[str, None] = {}
        if dag is not None:
            dag.add_task(self)
        if group is not None:
            group.add(self)

    # -- hooks -------------------------------------------------------------------------------

    def _after_init(self) -> None:
        """Called once the outermost ``__init__`` ends: wire up references in template fields."""
        from headwater.authoring.xcom_arg import iter_xcom_args

        if not _definition_stacks.wiring_references():
            return
        for name in self.template_fields:
            for ref in iter_xcom_args(getattr(self, name, None)):
                ref.operator.set_downstream(self)

    def execute(self, context: dict[str, Any]) -> Any:
        """Do the task's work. The return value is pushed as its ``return_value`` XCom."""
        raise NotImplementedError(f"{type(self).__name__} must implement execute()")

    def pre_execute(self, context: dict[str, Any]) -> None:
        """Called right before :meth:`execute`, with the same context: runs the
        ``pre_execute=`` function, if given. Subclasses may override it (as in Airflow)."""
        if self._pre_execute_hook is not None:
            self._pre_execute_hook(context)

    def post_execute(self, context: dict[str, Any], result: Any = None) -> None:
        """Called right after :meth:`execute` returns, with its return value: runs the
        ``post_execute=`` function, if given (``fn(context, result)``)."""
        if self._post_execute_hook is not None:
            self._post_execute_hook(context, result)

    def defer(
        self,
        *,
        trigger: Any,
        method_name: str = "execute_complete",
        kwargs: dict[str, Any] | None = None,
        timeout: timedelta | float | None = None,
    ) -> NoReturn:
        """End this attempt ``deferred``: wait on ``trigger`` (a
        :class:`headwater.triggers.BaseTrigger`) without holding a worker slot.

        When the trigger fires, the task resumes in a new try (not counted as a retry) by
        calling ``method_name(context, event=<the event's payload>, **kwargs)``. After
        ``timeout`` without an event, that try fails with
        :class:`~headwater.exceptions.TaskDeferralTimeout`. ``kwargs`` must be JSON values.
        """
        from headwater.exceptions import TaskDeferred

        limit = as_timedelta(timeout, "timeout", self.task_id, optional=True, zero=False)
        raise TaskDeferred(trigger=trigger, method_name=method_name, kwargs=kwargs, timeout=limit)

    # -- setup and teardown --------------------------------------------------------------------

    def as_setup(self) -> Self:
        """Make this a setup task; returns it. Example: ``create.as_setup() >> work``."""
        from headwater.authoring.setup_teardown import mark_setup

        mark_setup(self)
        return self

    def as_teardown(
        self, *, setups: Any = None, on_failure_fail_dagrun: bool | None = None
    ) -> Self:
        """Make this a teardown task of ``setups`` (made setups, and upstream of it); returns
        it. It runs when its upstream tasks are done, failed or not, if one setup succeeded;
        the run ignores its state unless ``on_failure_fail_dagrun=True``.

        Example: ``create >> work >> delete.as_teardown(setups=create)``.
        """
        from headwater.authoring.setup_teardown import mark_teardown

        mark_teardown(self, setups, on_failure_fail_dagrun)
        return self

    def __enter__(self) -> Self:
        """``with setup_task >> teardown_task:``: tasks made in the block go between them."""
        from headwater.authoring.setup_teardown import enter_block

        enter_block(self)
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        from headwater.authoring.setup_teardown import exit_block

        exit_block(self, failed=exc_type is not None)

    # -- mapping -----------------------------------------------------------------------------

    @classmethod
    def partial(cls, **kwargs: Any) -> OperatorPartial:
        """Fix the arguments shared by every mapped instance; follow with ``.expand()``."""
        from headwater.authoring.mapping import OperatorPartial

        return OperatorPartial(cls, kwargs)

    @property
    def is_mapped(self) -> bool:
        return False

    # -- dependencies ------------------------------------------------------------------------

    def _upstream_endpoints(self) -> list[BaseOperator]:
        return [self]

    def _downstream_endpoints(self) -> list[BaseOperator]:
        return [self]

    def _add_edge_to(self, downstream: BaseOperator) -> None:
        if downstream is self:
            raise DagDefinitionError(f"task {self.task_id!r} cannot depend on itself")
        if self.dag is not None and downstream.dag is not None and self.dag is not downstream.dag:
            raise DagDefinitionError(
                f"cannot set a dependency between tasks of different DAGs: "
                f"{self.dag.dag_id}.{self.task_id} >> {downstream.dag.dag_id}.{downstream.task_id}"
            )
        dag = self.dag or downstream.dag
        if dag is not None:
            for task in (self, downstream):
                if task.dag is None:
                    dag.add_task(task)
        self._downstream_ids[downstream.task_id] = None
        downstream._upstream_ids[self.task_id] = None

    @property
    def upstream_task_ids(self) -> KeysView[str]:
        """Ids of the direct upstream tasks, in the order the edges were set; compares and
        combines like a set (``t.upstream_task_ids == {"extract"}``)."""
        return self._upstream_ids.keys()

    @property
    def downstream_task_ids(self) -> KeysView[str]:
        """Ids of the direct downstream tasks, in the order the edges were set; set-like."""
        return self._downstream_ids.keys()

    @property
    def upstream_list(self) -> list[BaseOperator]:
        return [self._require_dag().task_dict[t] for t in self.upstream_task_ids]

    @property
    def downstream_list(self) -> list[BaseOperator]:
        return [self._require_dag().task_dict[t] for t in self.downstream_task_ids]

    def get_flat_relatives(self, upstream: bool = False) -> list[BaseOperator]:
        """Every task reachable downstream (or upstream) of this one."""
        dag = self._require_dag()
        seen: dict[str, None] = {}
        stack = list(self.upstream_task_ids if upstream else self.downstream_task_ids)
        while stack:
            task_id = stack.pop()
            if task_id in seen:
                continue
            seen[task_id] = None
            task = dag.task_dict[task_id]
            stack.extend(task.upstream_task_ids if upstream else task.downstream_task_ids)
        return [dag.task_dict[t] for t in seen]

    def _require_dag(self) -> DAG:
        if self.dag is None:
            raise DagDefinitionError(f"task {self.task_id!r} is not attached to a DAG")
        return self.dag

    @property
    def output(self) -> XComArg:
        """A reference to this task's return value, to pass to other tasks."""
        from headwater.authoring.xcom_arg import XComArg

        return XComArg(self)

    def iter_template_values(self) -> Iterator[tuple[str, Any]]:
        for name in self.template_fields:
            yield name, getattr(self, name, None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.task_id}>"


def _binds(
    init: Callable[..., Any], self: BaseOperator, args: tuple[Any, ...], kw: dict[str, Any]
) -> bool:
    """Whether ``init``'s signature accepts ``(self, *args, **kw)``."""
    import inspect

    try:
        inspect.signature(init).bind(self, *args, **kw)
    except TypeError:
        return False
    return True
