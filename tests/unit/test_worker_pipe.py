"""A local worker whose executor is gone leaves quietly: a scheduler killed with ``kill -9``
while a result of the worker's lay unread in its end of the pipe resets the connection, and
the worker's next read must end it as a closed pipe does, not print a traceback."""

from __future__ import annotations

import os
from multiprocessing import Pipe

import pytest

from headwater.executors._worker import WorkerOptions, _serve


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
