"""Every masking test starts and ends with no registered secret: the registry is per
process, and a secret left by one test would hide text another test expects to see."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from headwater.masking import forget_secrets


@pytest.fixture(autouse=True)
def no_secrets() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()
