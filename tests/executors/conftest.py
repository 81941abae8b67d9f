"""The ``pool`` fixture: LocalExecutors over ``worker_tasks.run``, stopped after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from local_pools import Pool


@pytest.fixture
def pool() -> Iterator[Callable[..., Pool]]:
    made: list[Pool] = []

    def make(**options: Any) -> Pool:
        made.append(Pool(**options))
        made[-1].executor.start()
        return made[-1]

    yield make
    for each in made:
        each.executor.stop()
