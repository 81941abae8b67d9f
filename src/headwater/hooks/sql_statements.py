"""Splitting a script into statements at its semicolons, except those inside quotes,
quoted names, comments and PostgreSQL's dollar-quoted bodies (``$$ ... $$``).

DB-API drivers run one statement per ``execute``; ``DbApiHook.run(split_statements=True)``
uses this to run a whole ``.sql`` file.
"""

from __future__ import annotations

import re

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def split_statements(sql: str, *, backslash_escapes: bool = False) -> list[str]:
    """The statements of ``sql``, stripped, without their ``;``; statements made only of
    comments and blanks are left out. ``backslash_escapes``: ``\\'`` does not end a string
    (MySQL)."""
    statements: list[str] = []
    start = 0
    i = 0
    n = len(sql)
    meaningful = False  # whether the current statement has more than comments and blanks
    while i < n:
        char = sql[i]
        if char == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if char == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if char in "'\"`":
            i = _end_of_quoted(sql, i, char, backslash_escapes and char == "'")
            meaningful = True
            continue
        if char == "$":
            tag = _DOLLAR_TAG.match(sql, i)
            if tag is not None:
                end = sql.find(tag.group(0), tag.end())
                i = n if end < 0 else end + len(tag.group(0))
                meaningful = True
                continue
        if char == ";":
            if meaningful:
                statements.append(sql[start:i].strip())
            start = i + 1
            meaningful = False
        elif not char.isspace():
            meaningful = True
        i += 1
    if meaningful:
        statements.append(sql[start:].strip())
    return statements


def _end_of_quoted(sql: str, i: int, quote: str, backslash_escapes: bool) -> int:
    """The index just after the quoted text that starts at ``i`` (a doubled quote is an
    escaped one); the end of ``sql`` if it is never closed."""
    j = i + 1
    n = len(sql)
    while j < n:
        if backslash_escapes and sql[j] == "\\":
            j += 2
            continue
        if sql[j] == quote:
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return n
