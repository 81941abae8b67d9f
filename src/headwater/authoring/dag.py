"""The DAG: a named set of tasks, their dependencies, a schedule and run-level settings."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypeVar, overload

from headwater.authoring import _definition_stacks
from headwater.authoring.asset_partitions import PartitionedAssetTimetable, dag_partitions
from headwater.authoring.assets import AssetCondition, split_schedule
from headwater.authoring.dates import plain_datetime, plain_timedelta
from headwater.authoring.deadlines import Deadline, check_deadlines
from headwater.authoring.in_process_runs import RunResult, run_in_process
from headwater.authoring.operator_arguments import (
    check_callback,
    unknown_arguments,
    validate_task_id,
)
from headwater.authoring.params import Param, check_params
from headwater.authoring.partitions import Partitions, check_partitions
from headwater.authoring.schedules import Schedule
from headwater.exceptions import (
    CycleError,
    DagDefinitionError,
    DuplicateTaskIdError,
    InvalidScheduleError,
)
from headwater.timetables.base import Timetable
from headwater.timetables.schedule_arg import ScheduleArg, schedule_and_timetable

if TYPE_CHECKING:
    from headwater.authoring.operator import BaseOperator, Callback
    from headwater.authoring.task_group import TaskGroup

P = ParamSpec("P")


def _check_aware(value: datetime | None, name: str, dag_id: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise DagDefinitionError(f"DAG {dag_id!r}: {name} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise DagDefinitionError(
            f"DAG {dag_id!r}: {name} {value.isoformat()} has no timezone; "
            f"use e.g. datetime(2024, 1, 1, tzinfo=timezone.utc)"
        )
    return plain_datetime(value)  # pendulum's arithmetic differs: see authoring.dates


def _parse_schedule(
    value: Any, start_date: datetime | None, dag_id: str
) -> tuple[Schedule, Timetable]:
    """The DAG's schedule as written and its timetable (``schedule_and_timetable``), refusing
    a cron that never fires; errors name the DAG."""
    try:
        return schedule_and_timetable(value, start_date)
    except InvalidScheduleError as exc:
        raise InvalidScheduleError(f"DAG {dag_id!r}: schedule: {exc}") from None


_INIT_ARGUMENTS: dict[type, frozenset[str] | None] = {}


def init_arguments(cls: type[DAG]) -> frozenset[str] | None:
    """The names ``cls.__init__`` takes as keywords; None when it takes ``**kwargs``."""
    if cls not in _INIT_ARGUMENTS:
        parameters = inspect.signature(cls.__init__).parameters.values()
        names: frozenset[str] | None = None
        if all(p.kind is not inspect.Parameter.VAR_KEYWORD for p in parameters):
            skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.POSITIONAL_ONLY)
            names = frozenset(p.name for p in parameters if p.kind not in skip) - {"self"}
        _INIT_ARGUMENTS[cls] = names
    return _INIT_ARGUMENTS[cls]


def _check_tags(tags: Any, dag_id: str) -> list[str]:
    """``tags`` (a list, tuple or set of strings) sorted and de-duplicated."""
    if isinstance(tags, list | tuple | set | frozenset) and all(isinstance(t, str) for t in tags):
        return sorted(set(tags))
    hint = f" (write tags=[{tags!r}])" if isinstance(tags, str) else ""
    raise DagDefinitionError(
        f"DAG {dag_id!r}: tags must be a list of strings, got {tags!r:.80}{hint}"
    )


def _display_name(value: Any, default: str, name: str) -> str:
    """``value`` when it is a non-empty string, ``default`` when None; else an error."""
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip():
        raise DagDefinitionError(f"{name} of {default!r} must be a non-empty string, got {value!r}")
    return value


def _named_values(
    values: Any, name: str, dag_id: str, *, callables: bool = False
) -> dict[str, Any]:
    """``values`` (a dict with string keys; callables for filters) as a new dict."""
    if values is None:
        return {}
    if not isinstance(values, Mapping) or not all(isinstance(k, str) for k in values):
        raise DagDefinitionError(
            f"DAG {dag_id!r}: {name} must be a dict of name -> value, got {values!r:.80}"
        )
    if callables and (bad := [k for k, v in values.items() if not callable(v)]):
        raise DagDefinitionError(f"DAG {dag_id!r}: {name}[{bad[0]!r}] must be a function")
    return dict(values)


class DAG:
    """A pipeline: tasks and the dependencies between them.

    Example::

        with DAG("daily_report", schedule="@daily", start_date=datetime(2024, 1, 1, tzinfo=UTC)):
            extract = BashOperator(task_id="extract", bash_command="echo {{ ds }}")
            report = EmptyOperator(task_id="report")
            extract >> report
    """

    default_weight_rule: ClassVar[str] = "absolute"
    """The ``weight_rule`` of its tasks that do not set one (Airflow's DAG: ``downstream``)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> DAG:
        # Unknown keywords (``schedule_interval=``) are an error naming the DAG, not
        # Python's TypeError.
        known = init_arguments(cls) if kwargs else None
        if known is not None and (unknown := [k for k in kwargs if k not in known]):
            dag_id = args[0] if args else kwargs.get("dag_id")
            raise DagDefinitionError(f"DAG {dag_id!r}: {unknown_arguments(cls, unknown)}")
        return super().__new__(cls)

    def __init__(
        self,
        dag_id: str,
        *,
        schedule: ScheduleArg | AssetCondition | Any = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        catchup: bool = False,
        default_args: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Iterable[str] = (),
        description: str | None = None,
        doc_md: str | None = None,
        max_active_runs: int = 16,
        max_active_tasks: int = 16,
        dagrun_timeout: timedelta | None = None,
        on_success_callback: Callback | None = None,
        on_failure_callback: Callback | None = None,
        sla_miss_callback: Callback | None = None,
        deadline: Deadline | Iterable[Deadline] | None = None,
        template_searchpath: str | Iterable[str] | None = None,
        is_paused_upon_creation: bool | None = None,
        partitions: Partitions | None = None,
        dag_display_name: str | None = None,
        user_defined_macros: Mapping[str, Any] | None = None,
        user_defined_filters: Mapping[str, Callable[..., Any]] | None = None,
        render_template_as_native_obj: bool = False,
    ) -> None:
        validate_task_id(dag_id, "dag_id")
        self.dag_id = dag_id
        self.start_date = _check_aware(start_date, "start_date", dag_id)
        self.end_date = _check_aware(end_date, "end_date", dag_id)
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise DagDefinitionError(f"DAG {dag_id!r}: end_date is before start_date")
        # Assets in the schedule: runs on asset events (issue 13); the rest is a time schedule.
        if isinstance(schedule, timedelta):
            schedule = plain_timedelta(schedule)  # pendulum.duration(...) too
        partitioned_by = schedule
        if isinstance(schedule, PartitionedAssetTimetable):  # Airflow 3.3's partitioned assets
            schedule = schedule.assets
        schedule, self.asset_condition = split_schedule(schedule, dag_id)
        self.schedule, self.timetable = _parse_schedule(schedule, self.start_date, dag_id)
        self.catchup = catchup
        if default_args is not None and not isinstance(default_args, Mapping):
            raise DagDefinitionError(
                f"DAG {dag_id!r}: default_args must be a dict, got {default_args!r:.80}"
            )
        self.default_args: dict[str, Any] = dict(default_args or {})
        for name in ("start_date", "end_date"):
            if self.default_args.get(name) is not None:
                self.default_args[name] = _check_aware(
                    self.default_args[name], f"default_args[{name!r}]", dag_id
                )
        # default_args["params"] are DAG params too, under the DAG's own (as in Airflow).
        default_params = self.default_args.pop("params", None)
        self.params: dict[str, Param] = {
            **check_params(default_params, f"DAG {dag_id!r}: default_args"),
            **check_params(params, f"DAG {dag_id!r}"),
        }
        self.tags = _check_tags(tags, dag_id)
        self.dag_display_name: str = _display_name(dag_display_name, dag_id, "dag_display_name")
        """How commands and pages name the DAG (its id unless ``dag_display_name`` is given)."""
        # Extra names and filters of the DAG's Jinja environment (runtime/templating.py).
        self.user_defined_macros = _named_values(user_defined_macros, "user_defined_macros", dag_id)
        self.user_defined_filters = _named_values(
            user_defined_filters, "user_defined_filters", dag_id, callables=True
        )
        if not isinstance(render_template_as_native_obj, bool):
            raise DagDefinitionError(
                f"DAG {dag_id!r}: render_template_as_native_obj must be True or False, "
                f"got {render_template_as_native_obj!r:.80}"
            )
        self.render_template_as_native_obj = render_template_as_native_obj
        """Templates render to Python objects (a list stays a list), not text."""
        self.description = description
        self.doc_md = doc_md
        for name, value in (
            ("max_active_runs", max_active_runs),
            ("max_active_tasks", max_active_tasks),
        ):
            if not isinstance(value, int) or value < 1:
                raise DagDefinitionError(f"DAG {dag_id!r}: {name} must be an int >= 1")
        self.max_active_runs = max_active_runs
        self.max_active_tasks = max_active_tasks
        if dagrun_timeout is not None and not isinstance(dagrun_timeout, timedelta):
            raise DagDefinitionError(f"DAG {dag_id!r}: dagrun_timeout must be a timedelta")
        if dagrun_timeout is not None and dagrun_timeout <= timedelta(0):
            raise DagDefinitionError(
                f"DAG {dag_id!r}: dagrun_timeout must be positive, "
                f"got {dagrun_timeout.total_seconds():g} seconds"
            )
        self.dagrun_timeout = None if dagrun_timeout is None else plain_timedelta(dagrun_timeout)
        owner = f"DAG {dag_id!r}"
        self.on_success_callback = check_callback(on_success_callback, "on_success_callback", owner)
        self.on_failure_callback = check_callback(on_failure_callback, "on_failure_callback", owner)
        # When runs and tasks are late (headwater.authoring.deadlines).
        self.sla_miss_callback = check_callback(sla_miss_callback, "sla_miss_callback", owner)
        self.deadlines: list[Deadline] = check_deadlines(deadline, owner)
        if isinstance(template_searchpath, str):
            template_searchpath = [template_searchpath]
        self.template_searchpath = list(template_searchpath or [])
        self.is_paused_upon_creation = is_paused_upon_creation
        # Each run works on one key of these (issue 13; see headwater.authoring.partitions).
        self.partitions = dag_partitions(
            partitioned_by, self.timetable, check_partitions(partitions, f"DAG {dag_id!r}"), dag_id
        )
        self.task_dict: dict[str, BaseOperator] = {}
        self.task_groups: dict[str, TaskGroup] = {}
        self.edge_info: dict[str, dict[str, dict[str, Any]]] = {}
        """Information on edges, by upstream then downstream task id: ``{"label": ...}``
        (:func:`headwater.Label`)."""
        self.fileloc = _caller_file()
        _definition_stacks.dag_created(self)

    # -- building ------------------------------------------------------------------------------

    def __enter__(self) -> DAG:
        _definition_stacks.push_dag(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _definition_stacks.pop_dag()

    def add_task(self, task: BaseOperator) -> None:
        if task.dag is self:
            return
        if task.dag is not None:
            raise DagDefinitionError(
                f"task {task.task_id!r} already belongs to DAG {task.dag.dag_id!r}"
            )
        if task.task_id in self.task_dict:
            raise DuplicateTaskIdError(
                f"DAG {self.dag_id!r} already has a task with id {task.task_id!r}"
            )
        self.task_dict[task.task_id] = task
        task.dag = self

    def unique_task_id(self, task_id: str) -> str:
        """``task_id``, or ``task_id__N`` if it is taken (for TaskFlow functions called twice)."""
        if task_id not in self.task_dict:
            return task_id
        n = 1
        while f"{task_id}__{n}" in self.task_dict:
            n += 1
        return f"{task_id}__{n}"

    # -- reading -------------------------------------------------------------------------------

    @property
    def tasks(self) -> list[BaseOperator]:
        return list(self.task_dict.values())

    @property
    def task_ids(self) -> list[str]:
        return list(self.task_dict)

    @property
    def roots(self) -> list[BaseOperator]:
        return [t for t in self.task_dict.values() if not t.upstream_task_ids]

    @property
    def leaves(self) -> list[BaseOperator]:
        return [t for t in self.task_dict.values() if not t.downstream_task_ids]

    def get_task(self, task_id: str) -> BaseOperator:
        from headwater.exceptions import TaskNotFoundError
        from headwater.shown_text import quoted

        try:
            return self.task_dict[task_id]
        except KeyError:
            raise TaskNotFoundError(f"DAG {self.dag_id!r} has no task {quoted(task_id)}") from None

    def topological_sort(self) -> list[BaseOperator]:
        """Tasks in an order where every task comes after its upstreams; raises on a cycle."""
        indegree = {tid: len(t.upstream_task_ids) for tid, t in self.task_dict.items()}
        ready = [tid for tid, n in indegree.items() if n == 0]
        order: list[str] = []
        while ready:
            tid = ready.pop(0)
            order.append(tid)
            for down in self.task_dict[tid].downstream_task_ids:
                indegree[down] -= 1
                if indegree[down] == 0:
                    ready.append(down)
        if len(order) != len(self.task_dict):
            raise CycleError(f"DAG {self.dag_id!r} has a cycle: {' -> '.join(self._find_cycle())}")
        return [self.task_dict[t] for t in order]

    def _find_cycle(self) -> list[str]:
        white, grey, black = 0, 1, 2
        color = dict.fromkeys(self.task_dict, white)
        path: list[str] = []

        def visit(tid: str) -> list[str] | None:
            color[tid] = grey
            path.append(tid)
            for down in self.task_dict[tid].downstream_task_ids:
                if color[down] == grey:
                    return [*path[path.index(down) :], down]
                if color[down] == white and (found := visit(down)):
                    return found
            path.pop()
            color[tid] = black
            return None

        for tid in self.task_dict:
            if color[tid] == white and (found := visit(tid)):
                return found
        return []

    def set_edge_info(self, upstream_id: str, downstream_id: str, info: dict[str, Any]) -> None:
        """Set the information (``{"label": ...}``) of the edge ``upstream_id -> downstream_id``."""
        self.edge_info.setdefault(upstream_id, {})[downstream_id] = info

    def get_edge_info(self, upstream_id: str, downstream_id: str) -> dict[str, Any]:
        """The information of an edge; ``{}`` when it has none."""
        return self.edge_info.get(upstream_id, {}).get(downstream_id, {})

    def validate(self) -> None:
        """Check what cannot be checked while tasks are added: cycles, dangling edges, the
        rules of setup and teardown tasks."""
        from headwater.authoring.setup_teardown import validate_setup_teardown

        for task in self.task_dict.values():
            for other in (*task.upstream_task_ids, *task.downstream_task_ids):
                if other not in self.task_dict:
                    raise DagDefinitionError(
                        f"DAG {self.dag_id!r}: task {task.task_id!r} depends on {other!r}, "
                        "which is not in the DAG"
                    )
        self.topological_sort()
        validate_setup_teardown(self)

    # -- running -------------------------------------------------------------------------------

    def test(
        self,
        logical_date: datetime | None = None,
        *,
        conf: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> RunResult:
        """Run the whole DAG in this process, now, and return its states and values (a
        :class:`headwater.testing.DagRunResult`).

        Example: ``result = dag.test(conf={"region": "us"}); assert result.succeeded``.
        """
        return run_in_process(self, logical_date=logical_date, conf=conf, **kwargs)

    def __repr__(self) -> str:
        return f"<DAG {self.dag_id}>"


DEFINING_PACKAGES = ("headwater/authoring/", "headwater/airflow_compat/")


def _caller_file() -> str:
    """The file that created the DAG: the first frame outside the packages that build DAGs
    (headwater's authoring and its Airflow ``DAG``)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not any(p in filename.replace("\\", "/") for p in DEFINING_PACKAGES):
            return filename
        frame = frame.f_back  # type: ignore[assignment]
    return "<unknown>"


R = TypeVar("R")


@overload
def dag(dag_id: Callable[P, Any]) -> Callable[P, DAG]: ...
@overload
def dag(
    dag_id: str | None = None, **dag_kwargs: Any
) -> Callable[[Callable[P, Any]], Callable[P, DAG]]: ...


def dag(dag_id: Any = None, **dag_kwargs: Any) -> Any:
    """Build a DAG from a function that creates its tasks; calling the function returns the DAG.

    The function's keyword defaults become params unless ``params`` is given. Example::

        @dag(schedule="@daily", start_date=datetime(2024, 1, 1, tzinfo=UTC))
        def etl():
            load(transform(extract()))

        etl_dag = etl()
    """

    return dag_decorator(DAG, dag_id, dag_kwargs)


def dag_decorator(dag_class: type[DAG], dag_id: Any, dag_kwargs: dict[str, Any]) -> Any:
    """What ``@dag`` and ``@dag(...)`` return, building ``dag_class`` (headwater's ``DAG``,
    or the Airflow one of :mod:`headwater.airflow_compat.dag`): the decorator itself when
    ``dag_id`` is the function, else a decorator."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., DAG]:
        @functools.wraps(fn)
        def build(*args: Any, **kwargs: Any) -> DAG:
            options = dict(dag_kwargs)
            params = options.pop("params", None)
            if params is None:
                signature = inspect.signature(fn)
                params = {
                    name: p.default
                    for name, p in signature.parameters.items()
                    if p.default is not inspect.Parameter.empty
                }
            built = dag_class(
                dag_id if isinstance(dag_id, str) else fn.__name__, params=params, **options
            )
            built.fileloc = inspect.getsourcefile(fn) or built.fileloc
            if built.doc_md is None and fn.__doc__:
                built.doc_md = inspect.cleandoc(fn.__doc__)
            with built:
                fn(*args, **kwargs)
            return built

        return build

    if callable(dag_id):
        return decorate(dag_id)
    return decorate
