"""Fixtures of the secrets tests: a clean mask registry for each test, and a Vault stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from vault_kv_server import VaultKvServer

from headwater.masking import forget_secrets


@pytest.fixture(autouse=True)
def no_masks_left() -> Iterator[None]:
    """What a test masks is forgotten after it (the registry is per process)."""
    forget_secrets()
    yield
    forget_secrets()


@pytest.fixture
def vault() -> Iterator[VaultKvServer]:
    """A local HTTP server answering the KV v2 routes hvac reads (see vault_kv_server)."""
    with VaultKvServer(token="s.test-token-123") as server:
        yield server
