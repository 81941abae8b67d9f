"""The script that runs one task's function in another Python environment.

:mod:`headwater.operators.python_virtualenv` copies this file into a fresh temporary folder
and runs it with the other interpreter: ``python -u runner.py job.json result.json``. It
reads the function's source and its JSON arguments from ``job.json``, calls the function,
and writes ``{"status": "returned", "result": ...}`` to ``result.json``; when the function
raises, its traceback goes to stderr (so to the task log) and the status is ``raised``; a
result that is not JSON is ``not_json``. It uses the standard library only and no syntax
newer than Python 3.8, since it runs wherever the other interpreter is. Nothing of
headwater is importable there.
"""

from __future__ import annotations
import __future__

import inspect
import json
import sys
import traceback
from typing import Any


def _fill_context(
    fn: Any, args: list[Any], kwargs: dict[str, Any], context: dict[str, Any]
) -> dict[str, Any]:
    """``kwargs`` plus the context values the function asks for by parameter name (as
    :func:`headwater.operators.python.call_with_context` does in the worker itself)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return kwargs
    taken = {p.name for p in params[: len(args)] if p.kind != p.VAR_POSITIONAL}
    filled = dict(kwargs)
    var_keyword = False
    for param in params:
        if param.kind == param.VAR_KEYWORD:
            var_keyword = True
        elif (
            param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)
            and param.name in context
            and param.name not in filled
            and param.name not in taken
        ):
            filled[param.name] = context[param.name]
    if var_keyword:
        for key, value in context.items():
            filled.setdefault(key, value)
        for name in taken:
            filled.pop(name, None)
    return filled


def _write(path: str, document: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(json.dumps(document))


def main(argv: list[str]) -> int:
    job_path, result_path = argv[1], argv[2]
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    # Blank lines first, so the traceback's line numbers are those of the DAG file; the
    # annotations flag, so annotations naming what only the DAG file imports do no harm.
    source = "\n" * (job["first_line"] - 1) + job["source"]
    flags = __future__.annotations.compiler_flag
    namespace: dict[str, Any] = {"__name__": "__headwater_task__"}
    exec(compile(source, job["filename"], "exec", flags=flags, dont_inherit=True), namespace)
    fn = namespace[job["name"]]
    args = job["args"]
    kwargs = _fill_context(fn, args, job["kwargs"], job["context"])
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        # Without this frame: the traceback starts in the task's own function.
        frames = exc.__traceback__
        traceback.print_exception(type(exc), exc, frames.tb_next if frames else None)
        sys.stderr.flush()
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        _write(result_path, {"status": "raised", "error": error})
        return 1
    sys.stdout.flush()
    try:
        text = json.dumps({"status": "returned", "result": result}, allow_nan=False)
    except (TypeError, ValueError) as exc:
        kind = type(result).__module__ + "." + type(result).__qualname__
        _write(result_path, {"status": "not_json", "error": kind + ": " + str(exc)})
        return 2
    with open(result_path, "w", encoding="utf-8") as out:
        out.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
