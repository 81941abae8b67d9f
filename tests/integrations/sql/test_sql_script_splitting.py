"""Splitting a SQL script into statements: semicolons inside quotes, quoted names, comments
and dollar-quoted bodies do not end a statement."""

from __future__ import annotations

import pytest

from headwater.hooks.sql_statements import split_statements


@pytest.mark.parametrize(
    ("script", "statements"),
    [
        ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
        ("SELECT 1", ["SELECT 1"]),
        ("  ;; \n ; ", []),
        ("SELECT 'a;b'; SELECT 'it''s;'", ["SELECT 'a;b'", "SELECT 'it''s;'"]),
        ('SELECT "odd;name" FROM t; SELECT `x;y`', ['SELECT "odd;name" FROM t', "SELECT `x;y`"]),
        ("SELECT 1; -- done; really\nSELECT 2", ["SELECT 1", "-- done; really\nSELECT 2"]),
        ("SELECT 1; /* a; b */ SELECT 2", ["SELECT 1", "/* a; b */ SELECT 2"]),
        ("-- only a comment;\n/* and another; */", []),
        (
            "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql; SELECT f()",
            [
                "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql",
                "SELECT f()",
            ],
        ),
        (
            "DO $body$ BEGIN PERFORM 1; END $body$; SELECT 2",
            ["DO $body$ BEGIN PERFORM 1; END $body$", "SELECT 2"],
        ),
        ("SELECT $1; SELECT 2", ["SELECT $1", "SELECT 2"]),  # a parameter, not a dollar quote
        ("SELECT 'never closed; SELECT 2", ["SELECT 'never closed; SELECT 2"]),
    ],
)
def test_statements_end_at_semicolons_outside_quotes_and_comments(
    script: str, statements: list[str]
) -> None:
    assert split_statements(script) == statements


def test_backslash_escapes_are_mysqls() -> None:
    script = r"SELECT 'it\'s; fine'; SELECT 2"
    assert split_statements(script, backslash_escapes=True) == [r"SELECT 'it\'s; fine'", "SELECT 2"]
    # In standard SQL a backslash is a plain character: the quote after it closes the string.
    assert split_statements(script) == [r"SELECT 'it\'s", "fine'; SELECT 2"]
