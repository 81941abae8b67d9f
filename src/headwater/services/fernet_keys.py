"""The keys that encrypt secrets at rest: make one, and re-encrypt everything with the first
(docs/connections.md, "Encryption at rest")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.services._schema import Schema

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext


class FernetKeyRotated(Schema):
    """How many rows ``rotate-fernet-key`` rewrote."""

    connections: int
    variables: int
    rows: int


def generate_fernet_key() -> str:
    """A new random key for ``secrets.fernet_key``."""
    from headwater.secrets.fernet import generate_fernet_key as generate

    return generate()


def rotate_fernet_key(ctx: ServiceContext) -> FernetKeyRotated:
    """Re-encrypt every encrypted password, extra and variable value with the first key of
    ``secrets.fernet_key``, in one transaction. Invalid when no key is set; a value that no
    listed key decrypts stops it (nothing is rewritten) and is named."""
    from headwater.operations import InvalidRequestError
    from headwater.secrets.fernet import ENV_VARIABLE, SETTING, current_cipher

    if not current_cipher().enabled:
        raise InvalidRequestError(
            f"{SETTING} ({ENV_VARIABLE}) is not set: put the new key first and the old ones "
            "after it, comma-separated, then rotate"
        )
    rotated = ctx.store.rotate_fernet_key()
    return FernetKeyRotated(
        connections=rotated.connections, variables=rotated.variables, rows=rotated.rows
    )
