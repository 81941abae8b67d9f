"""Operators that run a Python function in another environment: a cached virtualenv with its
own requirements (:class:`PythonVirtualenvOperator`, ``@task.virtualenv``) or an existing
interpreter (:class:`ExternalPythonOperator`, ``@task.external_python``).

The function travels as source code, not as a pickled object: it runs in a separate
interpreter where neither headwater nor the DAG file may be importable. So it must be a
plain, module-level-style function: no lambda, no closure over outer variables, and its
imports inside its body. Its arguments and its result travel as JSON (a clear error names
the argument, or says the result, that is not JSON); what it prints goes to the task log;
an exception it raises fails the task, its traceback in the log. Context values that are
JSON (``ds``, ``ts``, ``run_id``, ``params``...) fill parameters named after them, as for
``@task``; the others (``ti``, ``dag_run``...) cannot cross: a parameter named after one
must be given or have a default, or the task is refused when defined, naming it.

Airflow's ``serializer`` ("pickle", "cloudpickle", "dill" or None) and its deprecated
``use_dill`` are accepted, so Airflow DAG files run unchanged, but the transport stays JSON:
see :func:`accepted_serializer` for why and what differs.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import signal
import subprocess
import tempfile
import textwrap
import warnings
from collections.abc import Callable, Container, Sequence
from pathlib import Path
from typing import Any

from headwater.exceptions import DagDefinitionError, HeadwaterError
from headwater.operators._venv_cache import VenvSpec, cached_virtualenv, find_interpreter
from headwater.operators.python import FollowsReturnedBranch, PythonOperator

JSON_CONTEXT_KEYS = (
    "run_id",
    "ds",
    "ds_nodash",
    "ts",
    "ts_nodash",
    "ts_nodash_with_tz",
    "map_index",
    "try_number",
    "params",
    "conf",
    "task_instance_key_str",
    "test_mode",
)
"""Context keys passed to the function when it asks for them (and their value is JSON)."""

OTHER_CONTEXT_KEYS = frozenset(
    {"dag", "task", "ti", "task_instance", "dag_run", "logical_date", "data_interval_start"}
    | {"data_interval_end", "var", "conn", "macros"}
    | {"outlet_events", "inlet_events", "triggering_asset_events", "inlets", "outlets"}
)
"""Context keys whose values are live objects: a parameter named after one is refused."""

_RUNNER = Path(__file__).with_name("_python_env_runner.py")


class PythonEnvError(HeadwaterError):
    """The function could not run in the other environment, raised there, or returned a
    value that is not JSON."""


def function_source(fn: Callable[..., Any], task_id: str) -> tuple[str, str, int, str]:
    """``(source, file name, first line, function name)`` of a plain function, without its
    decorators; a DagDefinitionError saying why any other callable cannot be sent."""
    if not inspect.isfunction(fn):
        raise DagDefinitionError(
            f"task {task_id!r}: python_callable must be a plain function (def) to run in "
            f"another Python environment, got {fn!r}"
        )
    if fn.__name__ == "<lambda>":
        raise DagDefinitionError(
            f"task {task_id!r}: a lambda cannot run in another Python environment; "
            "define the function with def"
        )
    if inspect.iscoroutinefunction(fn):
        raise DagDefinitionError(f"task {task_id!r}: {fn.__name__} is async; give a plain def")
    if fn.__code__.co_freevars:
        names = ", ".join(fn.__code__.co_freevars)
        raise DagDefinitionError(
            f"task {task_id!r}: {fn.__name__} uses variables of an enclosing function "
            f"({names}), which do not exist in another Python environment; pass them as "
            "arguments"
        )
    try:
        lines, start = inspect.getsourcelines(fn)
    except (OSError, TypeError) as exc:
        raise DagDefinitionError(
            f"task {task_id!r}: the source of {fn.__name__} cannot be read ({exc}); "
            "functions run in another Python environment must be defined in a file"
        ) from None
    text = textwrap.dedent("".join(lines))
    try:
        node = ast.parse(text).body[0]
    except (SyntaxError, IndexError):
        node = None
    if not isinstance(node, ast.FunctionDef):  # e.g. a def on one line with other code
        raise DagDefinitionError(
            f"task {task_id!r}: the source of {fn.__name__} cannot be taken on its own; "
            "define it with def, starting on its own line"
        )
    source = "".join(text.splitlines(keepends=True)[node.lineno - 1 :])  # without decorators
    return source, inspect.getfile(fn), start + node.lineno - 1, node.name


def _check_json(value: Any, what: str, task_id: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PythonEnvError(
            f"task {task_id!r}: {what} cannot be passed to another Python environment: it is "
            f"not JSON ({exc}); pass JSON values (str, numbers, bools, None, lists, dicts)"
        ) from None


SERIALIZERS = ("pickle", "cloudpickle", "dill")
"""The ``serializer`` values Airflow's operators take; headwater accepts them all and keeps
passing arguments and results as JSON (see :func:`accepted_serializer`)."""


def accepted_serializer(serializer: str | None, use_dill: bool, task_id: str) -> str | None:
    """Check Airflow's ``serializer`` (or its deprecated ``use_dill=True``) and return it.

    Airflow pickles the arguments and the result with the chosen library (which must then be
    installed in the environment). headwater always sends them as JSON, whatever is chosen:
    JSON needs nothing installed on the other side, cannot run code when read, and is what
    XComs hold anyway; for the JSON values tasks pass (numbers, strings, lists, dicts) the
    function sees the same arguments and its downstream tasks the same result. A value that
    is not JSON fails the task with an error naming it, where Airflow would pickle it.
    """
    if use_dill:
        warnings.warn(
            f"task {task_id!r}: use_dill is deprecated in Airflow; write serializer='dill' "
            "(headwater passes arguments and results as JSON either way)",
            DeprecationWarning,
            stacklevel=4,
        )
        if serializer not in (None, "dill"):
            raise DagDefinitionError(
                f"task {task_id!r}: use_dill=True and serializer={serializer!r} disagree; "
                "give serializer only"
            )
        serializer = "dill"
    if serializer is not None and serializer not in SERIALIZERS:
        raise DagDefinitionError(
            f"task {task_id!r}: serializer must be one of "
            f"{', '.join(repr(s) for s in SERIALIZERS)} or None, not {serializer!r}"
        )
    return serializer


class _PythonEnvOperator(PythonOperator):
    """What both operators share: the function sent as source, JSON in and out."""

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        serializer: str | None = None,
        use_dill: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(python_callable=python_callable, **kwargs)
        self.serializer = accepted_serializer(serializer, use_dill, self.task_id)
        self.source, self.source_file, self.first_line, self.function_name = function_source(
            python_callable, self.task_id
        )
        live = self._unfilled(OTHER_CONTEXT_KEYS)
        if live:
            raise DagDefinitionError(self._live_context_message(live[0]))

    def _interpreter(self, context: dict[str, Any]) -> str:
        raise NotImplementedError

    def _environment(self) -> dict[str, str]:
        return dict(os.environ)

    def _unfilled(self, names: Container[str]) -> list[str]:
        """The function's parameters among ``names`` that no argument fills and that have
        no default: the context would have to fill them."""
        params = list(inspect.signature(self.python_callable).parameters.values())
        given = {p.name for p in params[: len(self.op_args)]} | set(self.op_kwargs)
        return [
            p.name
            for p in params
            if p.name in names
            and p.name not in given
            and p.default is p.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]

    def _live_context_message(self, name: str) -> str:
        return (
            f"task {self.task_id!r}: parameter {name!r} would get the context's {name!r}, "
            "which cannot be passed to another Python environment (not JSON); give it a "
            f"value or a default; the context keys that can: {', '.join(JSON_CONTEXT_KEYS)}"
        )

    def _job(self, context: dict[str, Any]) -> dict[str, Any]:
        for index, value in enumerate(self.op_args):
            _check_json(value, f"op_args[{index}]", self.task_id)
        for name, value in self.op_kwargs.items():
            _check_json(value, f"argument {name!r}", self.task_id)
        passed: dict[str, Any] = {}
        if self.templates_dict is not None:  # a context key, as for PythonOperator
            _check_json(self.templates_dict, "templates_dict", self.task_id)
            passed["templates_dict"] = self.templates_dict
        for key in JSON_CONTEXT_KEYS:
            if key in context:
                try:
                    json.dumps(context[key], allow_nan=False)
                except (TypeError, ValueError):
                    continue  # e.g. params holding a date: refused below if asked for
                passed[key] = context[key]
        missing = self._unfilled(OTHER_CONTEXT_KEYS | set(JSON_CONTEXT_KEYS))
        for name in missing:
            if name not in passed:
                raise PythonEnvError(self._live_context_message(name))
        return {
            "source": self.source,
            "filename": self.source_file,
            "first_line": self.first_line,
            "name": self.function_name,
            "args": self.op_args,
            "kwargs": self.op_kwargs,
            "context": passed,
        }

    def execute(self, context: dict[str, Any]) -> Any:
        job = self._job(context)  # arguments checked before any environment is made
        if self.serializer is not None:
            context["ti"].log.info(
                "serializer=%r: headwater passes the arguments and the result as JSON",
                self.serializer,
            )
        python = self._interpreter(context)
        return run_function(python, job, context["ti"].log, self._environment(), self.task_id)


def run_function(
    python: str, job: dict[str, Any], log: Any, env: dict[str, str], task_id: str
) -> Any:
    """Run ``job`` (see :mod:`headwater.operators._python_env_runner`) with ``python``;
    its output goes to ``log`` line by line; returns the function's result."""
    with tempfile.TemporaryDirectory(prefix="headwater-python-") as folder:
        runner = Path(folder) / "runner.py"
        runner.write_text(_RUNNER.read_text(encoding="utf-8"), encoding="utf-8")
        job_file, result_file = Path(folder) / "job.json", Path(folder) / "result.json"
        job_file.write_text(json.dumps(job), encoding="utf-8")
        log.info("Running %s() with %s", job["name"], python)
        command = [python, "-u", str(runner), str(job_file), str(result_file)]
        code = _stream(command, folder, env, log)
        result = json.loads(result_file.read_text()) if result_file.exists() else None
    if result is None:
        raise PythonEnvError(
            f"task {task_id!r}: {python} exited with code {code} before {job['name']}() "
            "returned (its output is in the log above)"
        )
    if result["status"] == "raised":
        raise PythonEnvError(
            f"task {task_id!r}: {job['name']}() raised {result['error']} in {python} "
            "(traceback in the log above)"
        )
    if result["status"] == "not_json":
        raise PythonEnvError(
            f"task {task_id!r}: {job['name']}() returned a value that is not JSON "
            f"({result['error']}); return JSON values to pass them on"
        )
    return result["result"]


def _stream(command: list[str], cwd: str, env: dict[str, str], log: Any) -> int:
    """Run ``command``, logging each line it prints; kill its process group if this attempt
    is stopped meanwhile (timeout, kill)."""
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        raise PythonEnvError(f"cannot start {command[0]}: {exc}") from None
    with process:
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                log.info("%s", raw.decode(errors="replace").rstrip("\n"))
            return process.wait()
        except BaseException:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
            raise


class PythonVirtualenvOperator(_PythonEnvOperator):
    """Run ``python_callable`` in a virtualenv with ``requirements``, cached between runs.

    The environment is made once per requirement set (with ``python_version``,
    ``system_site_packages`` and ``pip_install_options``) under ``venv_cache_path``
    (default ``<home>/venvs``) and reused after. Example::

        def count_words(text):
            import regex

            return len(regex.findall(r"\\w+", text))

        PythonVirtualenvOperator(
            task_id="count", python_callable=count_words, requirements=["regex==2024.11.6"],
            op_args=["{{ params.text }}"],
        )
    """

    ui_color = "#e8f7e4"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        requirements: Sequence[str] | None = None,
        python_version: str | None = None,
        system_site_packages: bool = False,
        pip_install_options: Sequence[str] | None = None,
        venv_cache_path: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(python_callable=python_callable, **kwargs)
        if isinstance(requirements, str):
            raise DagDefinitionError(
                f"task {self.task_id!r}: requirements must be a list of strings, "
                f"got the string {requirements!r}"
            )
        self.requirements = [self._requirement(i, r) for i, r in enumerate(requirements or [])]
        self.python_version = python_version
        self.system_site_packages = bool(system_site_packages)
        self.pip_install_options = [str(o) for o in pip_install_options or []]
        self.venv_cache_path = None if venv_cache_path is None else str(venv_cache_path)

    def _requirement(self, index: int, value: Any) -> str:
        if not isinstance(value, str) or not value.strip() or "\n" in value:
            raise DagDefinitionError(
                f"task {self.task_id!r}: requirements[{index}] must be one requirement such as "
                f"'pandas==2.2.3', got {value!r}"
            )
        if value.lstrip().startswith("-"):
            raise DagDefinitionError(
                f"task {self.task_id!r}: requirements[{index}] {value!r} is a pip option; "
                "give it in pip_install_options"
            )
        return value.strip()

    def _interpreter(self, context: dict[str, Any]) -> str:
        from headwater.settings import load_settings

        root = self.venv_cache_path or str(load_settings().home / "venvs")
        spec = VenvSpec(
            find_interpreter(self.python_version),
            tuple(self.requirements),
            self.system_site_packages,
            tuple(self.pip_install_options),
        )
        return str(cached_virtualenv(spec, Path(root), context["ti"].log))

    def _environment(self) -> dict[str, str]:
        # The environment is the point: no path of this process leaks into it.
        env = dict(os.environ)
        for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"):
            env.pop(name, None)
        return env


class ExternalPythonOperator(_PythonEnvOperator):
    """Run ``python_callable`` with the interpreter at ``python`` (an existing virtualenv's
    ``bin/python``, a conda environment's...). Example::

        ExternalPythonOperator(
            task_id="legacy", python="/opt/legacy-venv/bin/python", python_callable=convert
        )
    """

    template_fields: Sequence[str] = ("templates_dict", "op_args", "op_kwargs", "python")
    ui_color = "#e8f7e4"

    def __init__(self, *, python: str, python_callable: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(python_callable=python_callable, **kwargs)
        if not isinstance(python, str) or not python.strip():
            raise DagDefinitionError(
                f"task {self.task_id!r}: python must be the path of an interpreter, got {python!r}"
            )
        self.python = python

    def _interpreter(self, context: dict[str, Any]) -> str:
        if not os.path.isfile(self.python) or not os.access(self.python, os.X_OK):
            raise PythonEnvError(
                f"task {self.task_id!r}: python {self.python!r} does not exist or is not an "
                "executable file"
            )
        return self.python


class DecoratedVirtualenvOperator(PythonVirtualenvOperator):
    """``@task.virtualenv``: the function runs in a cached virtualenv with its requirements."""

    custom_operator_name = "@task.virtualenv"

    def __init__(self, *, multiple_outputs: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiple_outputs = multiple_outputs


class DecoratedExternalPythonOperator(ExternalPythonOperator):
    """``@task.external_python(python=...)``: the function runs with that interpreter."""

    custom_operator_name = "@task.external_python"

    def __init__(self, *, multiple_outputs: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiple_outputs = multiple_outputs


class BranchPythonVirtualenvOperator(FollowsReturnedBranch, PythonVirtualenvOperator):
    """:class:`PythonVirtualenvOperator` whose callable returns the task id(s) to follow."""


class BranchExternalPythonOperator(FollowsReturnedBranch, ExternalPythonOperator):
    """:class:`ExternalPythonOperator` whose callable returns the task id(s) to follow."""


class DecoratedBranchVirtualenvOperator(FollowsReturnedBranch, DecoratedVirtualenvOperator):
    """``@task.branch_virtualenv``: a branch callable run in a cached virtualenv."""

    custom_operator_name = "@task.branch_virtualenv"


class DecoratedBranchExternalPythonOperator(FollowsReturnedBranch, DecoratedExternalPythonOperator):
    """``@task.branch_external_python(python=...)``: a branch callable run with that
    interpreter."""

    custom_operator_name = "@task.branch_external_python"
