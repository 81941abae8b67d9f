"""A local worker whose executor is gone leaves quietly: a scheduler killed with ``kill -9``
while a result of the worker's lay unread in its end of the pipe resets the connection, and
the worker's next read must end it as a closed pipe does, not print a traceback."""

from __future__ import annotations

import os
from multiprocessing import Pipe

import pytest

from headwater.engine.records import AttemptOutcome
from headwater.engine.states import TaskInstanceState
from headwater.executors._worker import Result, WorkerOptions, _serve, decode, encode


def _never_called(payload: object) -> object:
    raise AssertionError("no attempt was sent")


@pytest.mark.parametrize("unread", [True, False], ids=["reset", "closed"])
def test_a_worker_whose_executor_died_stops_serving_without_an_error(
    unread: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    worker_end, executor_end = Pipe()
    if unread:
        worker_end.send_bytes(b"a result the executor never read")
    executor_end.close()  # as a process killed with SIGKILL closes its sockets

    _serve(worker_end, WorkerOptions("w1", "tests:unused"), os.getppid(), _never_called)

    assert capsys.readouterr().err == ""
    worker_end.close()


@pytest.mark.parametrize("rejected", [True, False])
def test_a_result_says_whether_the_attempt_was_rejected(rejected: bool) -> None:
    # A worker whose claim was refused (the attempt started elsewhere) reports it rejected;
    # read as a plain FAILED, the scheduler would fail the instance another worker runs.
    outcome = AttemptOutcome(
        TaskInstanceState.FAILED, error="attempt 1 was started elsewhere already", rejected=rejected
    )

    read = decode(encode(Result(outcome, leaving="ran 5 attempts")))

    assert read == Result(outcome, leaving="ran 5 attempts")
    assert isinstance(read, Result) and read.outcome.rejected is rejected
