"""How values people typed appear in error messages: quoted, and cut when over-long.

An id of 10,000 characters echoed back whole buries the message (and a terminal) under
it; :func:`quoted` keeps its start, an ellipsis and its length. Example::

    raise NotFoundError(f"DAG {quoted(dag_id)} has no run {quoted(run_id)}")
    # DAG 'etl' has no run 'xxxxxxxx…' (10000 characters)
"""

from __future__ import annotations

import re

SHOWN_CHARS = 100
"""At most this many characters of a value are shown in a message."""


def quoted(value: object, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)``; a longer string keeps its first ``limit`` characters, then ``…``
    and its length."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit] + '…'!r} ({len(value)} characters)"
    return repr(value)


# A single-quoted Python repr of a string longer than SHOWN_CHARS, on one line, not one
# quoted() has already cut (those end with the ellipsis).
_LONG_QUOTED = re.compile(rf"'([^'\n\\]{{{SHOWN_CHARS + 1},}}(?<!…))'")


def cut_long_quoted(message: str) -> str:
    """``message`` with every quoted value over :data:`SHOWN_CHARS` characters cut as
    :func:`quoted` does: the last guard before an error is printed, for messages built
    with plain ``!r``."""
    return _LONG_QUOTED.sub(lambda match: quoted(match.group(1)), message)
