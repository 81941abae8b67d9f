"""Fixtures of the operations' observability tests: a Sentry receiver on 127.0.0.1, and a
process whose Sentry reporting is stopped again when the test ends."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sentry_receiver import SentryReceiver

from headwater.masking import forget_secrets
from headwater.runtime.remote_logs import use_remote_log_folder
from headwater.sentry_reports import stop_sentry


@pytest.fixture
def sentry(monkeypatch: pytest.MonkeyPatch) -> Iterator[SentryReceiver]:
    """A Sentry on 127.0.0.1, named by ``HEADWATER__SENTRY__DSN``; this process stops
    reporting to it (sending what is pending) before it stops."""
    with SentryReceiver() as receiver:
        monkeypatch.setenv("HEADWATER__SENTRY__DSN", receiver.dsn)
        try:
            yield receiver
        finally:
            stop_sentry()


@pytest.fixture(autouse=True)
def _clean_process_state() -> Iterator[None]:
    """What a test sets for the whole process goes back: the root logger, the remote log
    folder of attempts run here, the registered secrets."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        use_remote_log_folder(None)
        forget_secrets()
