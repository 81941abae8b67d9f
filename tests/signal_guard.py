"""Every test leaves the test process's signal state as it found it.

A blocked or ignored SIGINT/SIGTERM is inherited by every process a later test starts (the
mask and ``SIG_IGN`` survive ``exec``): that test's command would then never see its stop
signal. A test that changes either is reported here, naming it, and the state is put back.

The suite itself may start with SIGINT ignored: a shell starts a background job so (``make
test &``, a detached CI step). The test process then takes Python's own SIGINT handler, so
that the commands the tests start get SIGINT as a terminal gives it (a command signalled
before it installs its own handlers would otherwise never stop).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

_WATCHED = (signal.SIGINT, signal.SIGTERM)

if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _state() -> tuple[frozenset[int], dict[int, bool]]:
    blocked = frozenset(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, []))
    ignored = {int(s): signal.getsignal(s) == signal.SIG_IGN for s in _WATCHED}
    return blocked, ignored


def _guarded(item: pytest.Item, when: str) -> Iterator[None]:
    before = _state()
    handlers = {s: signal.getsignal(s) for s in _WATCHED}
    yield
    after = _state()
    if after == before:
        return
    signal.pthread_sigmask(signal.SIG_SETMASK, before[0])
    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)
    newly_blocked = sorted(signal.Signals(s).name for s in after[0] - before[0])
    newly_ignored = sorted(
        signal.Signals(s).name for s, ign in after[1].items() if ign and not before[1][s]
    )
    pytest.fail(
        f"{item.nodeid} ({when}) left signals blocked {newly_blocked} or ignored {newly_ignored} "
        "in the test process (restored): later tests' commands would inherit them"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    yield from _guarded(item, "setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    yield from _guarded(item, "call")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    yield from _guarded(item, "teardown")
