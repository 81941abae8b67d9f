"""Table and column names that go into generated SQL: checked, then quoted.

Values always travel as query parameters, but a name cannot: it is written into the
statement. So a name is refused unless it is a plain identifier (letters, digits, ``_`` and
``$``, not starting with a digit), and it is then quoted, which also makes reserved words
(``order``, ``user``) usable as column names. A quoted name is taken exactly as written: on
PostgreSQL write names in lower case, as the database stores unquoted ones.
"""

from __future__ import annotations

import re

from headwater.exceptions import HeadwaterError

MAX_IDENTIFIER_LENGTH = 63
"""PostgreSQL's limit (MySQL's is 64, SQLite has none): a longer name is surely a mistake."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")


class SqlIdentifierError(HeadwaterError):
    """A table or column name that is not a plain SQL identifier."""


def check_identifier(name: object, what: str) -> str:
    """``name`` if it is a plain identifier, else an error naming ``what`` (``"column"``)."""
    if not isinstance(name, str) or not name:
        raise SqlIdentifierError(f"{what} name must be a non-empty string, got {name!r}")
    if len(name) > MAX_IDENTIFIER_LENGTH:
        raise SqlIdentifierError(
            f"{what} name {name[:40]!r}... is longer than {MAX_IDENTIFIER_LENGTH} characters"
        )
    if not _IDENTIFIER.match(name):
        raise SqlIdentifierError(
            f"{what} name {name!r} is not a plain SQL identifier: use letters, digits, '_' "
            "and '$', not starting with a digit"
        )
    return name


def quote_identifier(name: object, quote: str, what: str = "column") -> str:
    """``name`` checked and quoted with ``quote`` (``"`` or a backtick)."""
    return f"{quote}{check_identifier(name, what)}{quote}"


def quote_table(name: object, quote: str) -> str:
    """A table name, optionally qualified (``schema.table``, ``db.schema.table``), each part
    checked and quoted."""
    if not isinstance(name, str) or not name:
        raise SqlIdentifierError(f"table name must be a non-empty string, got {name!r}")
    parts = name.split(".")
    if len(parts) > 3:
        raise SqlIdentifierError(
            f"table name {name!r} has {len(parts)} parts; at most 3 (database.schema.table)"
        )
    try:
        return ".".join(quote_identifier(part, quote, "table") for part in parts)
    except SqlIdentifierError as exc:
        if len(parts) == 1:
            raise
        raise SqlIdentifierError(f"table name {name!r}: {exc}") from None
