"""``[logging] format = json``: one JSON object per line, with the run's fields, masked."""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import datetime

import pytest

from headwater.log_format import (
    configure_process_logging,
    configure_worker_logging,
    fields_of,
    log_fields,
    uvicorn_json_log_config,
)
from headwater.masking import mask_secret


def _unused_text_handler() -> logging.Handler:
    raise AssertionError("json logging built the text handler")


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_each_record_is_one_json_line_with_the_runs_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_process_logging("json", level=logging.INFO, text_handler=_unused_text_handler)
    log = logging.getLogger("headwater.scheduler.scheduler")
    log.info("Created run %s of %s", "r1", "etl", extra=log_fields("etl", "r1"))
    log.debug("not at INFO")

    (line,) = _lines(capsys.readouterr().err)
    assert set(line) == {"time", "level", "logger", "message", "dag_id", "run_id"}
    assert line["message"] == "Created run r1 of etl"
    assert (line["level"], line["logger"]) == ("INFO", "headwater.scheduler.scheduler")
    assert (line["dag_id"], line["run_id"]) == ("etl", "r1")
    time = str(line["time"])
    assert time.endswith("Z")
    assert datetime.fromisoformat(time.replace("Z", "+00:00")).utcoffset().total_seconds() == 0


def test_an_exception_is_one_field_and_secrets_are_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    mask_secret("pw-271828")
    configure_process_logging("json", level=logging.INFO, text_handler=_unused_text_handler)

    class Attempt:
        dag_id, run_id, task_id, map_index, try_number = "etl", "r1", "load", 2, 3

    try:
        raise ConnectionError("refused for user etl password pw-271828")
    except ConnectionError:
        logging.getLogger("headwater.scheduler").exception(
            "Task %s failed with pw-271828", "load", extra=fields_of(Attempt())
        )

    err = capsys.readouterr().err
    assert "pw-271828" not in err
    (line,) = _lines(err)  # the traceback's lines are inside the one JSON line
    assert line["message"] == "Task load failed with ***"
    assert str(line["exception"]).startswith("Traceback (most recent call last):")
    assert str(line["exception"]).endswith("ConnectionError: refused for user etl password ***")
    assert (line["task_id"], line["map_index"], line["try_number"]) == ("load", 2, 3)


def test_text_keeps_the_handler_of_the_command() -> None:
    handler = logging.NullHandler()
    configure_process_logging("text", level=logging.WARNING, text_handler=lambda: handler)
    root = logging.getLogger()
    assert root.handlers == [handler]
    assert root.level == logging.WARNING
    assert logging.getLogger("headwater.task").propagate is False


def test_an_unknown_format_names_the_setting() -> None:
    with pytest.raises(ValueError, match=r"logging\.format must be 'text' or 'json', not 'xml'"):
        configure_process_logging("xml", level=logging.INFO, text_handler=logging.NullHandler)


def test_uvicorns_access_and_error_lines_are_json_too(capsys: pytest.CaptureFixture[str]) -> None:
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        name: (logger.handlers[:], logger.level, logger.propagate)
        for name in names
        for logger in [logging.getLogger(name)]
    }
    try:
        logging.config.dictConfig(uvicorn_json_log_config())
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/api/v1/health", "1.1", 200
        )
    finally:
        for name, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:], logger.propagate = handlers, propagate
            logger.setLevel(level)

    started, access = _lines(capsys.readouterr().err)
    assert (started["logger"], started["message"]) == (
        "uvicorn.error",
        "Started server process [42]",
    )
    assert access["message"] == '127.0.0.1:5000 - "GET /api/v1/health HTTP/1.1" 200'


def test_a_worker_logs_its_own_warnings_as_json_and_never_the_tasks_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    headwater_logger = logging.getLogger("headwater")
    handlers = headwater_logger.handlers[:]
    try:
        configure_worker_logging("json")
        configure_worker_logging("json")  # once per process, however often it is asked
        logging.getLogger("headwater.runtime.remote_logs").warning("Could not copy the log")
        logging.getLogger("headwater.runtime.remote_logs").info("not at WARNING")
        logging.getLogger("headwater.task").warning("a task's line: its file only")
    finally:
        headwater_logger.handlers[:] = handlers

    (line,) = _lines(capsys.readouterr().err)
    assert (line["level"], line["message"]) == ("WARNING", "Could not copy the log")
