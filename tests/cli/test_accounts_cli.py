"""``headwater users | roles | tokens``: round trips through a real database (SQLite and
PostgreSQL), and the event log saying which OS user made each change."""

from __future__ import annotations

import getpass
import hashlib
import json

from headwater.auth.passwords import verify_password
from headwater.store.sql import SqlStore
from stored_dags import invoke


def test_users_round_trip_with_a_password_from_stdin(store: SqlStore) -> None:
    made = invoke(
        "users", "create", "alice", "--role", "op", "--password-stdin", input="long enough\n"
    )
    assert (made.exit_code, made.stdout) == (0, "Created user alice with role op\n")
    row = store.get_user("alice")
    assert row is not None and verify_password(row.password_hash, "long enough").ok
    listed = json.loads(invoke("users", "list", "-o", "json").stdout)
    assert [(u["username"], u["role"], u["level"]) for u in listed] == [("alice", "op", "op")]
    assert "password" not in json.dumps(listed)
    table = invoke("users", "list").stdout
    assert "alice" in table and "op" in table

    reset = invoke("users", "reset-password", "alice", "--password-stdin", input="another one\n")
    assert reset.stdout == "New password set for alice\n"
    row = store.get_user("alice")
    assert row is not None and verify_password(row.password_hash, "another one").ok
    assert invoke("users", "delete", "alice").stdout == "Deleted user alice\n"
    assert store.get_user("alice") is None
    actor = f"cli:{getpass.getuser()}"
    assert [(e.kind, e.actor) for e in store.list_events()] == [
        ("create_user", actor),
        ("reset_password", actor),
        ("delete_user", actor),
    ]


def test_the_password_is_asked_twice(store: SqlStore) -> None:
    made = invoke("users", "create", "bob", "--role", "viewer", input="pass-word\npass-word\n")
    assert made.exit_code == 0, made.output
    assert "Repeat the password" in made.stderr
    assert store.get_user("bob") is not None


def test_user_errors_name_the_field(store: SqlStore) -> None:
    short = invoke("users", "create", "bob", "--role", "viewer", "--password-stdin", input="x\n")
    assert short.exit_code == 1
    assert "password must be at least 8 characters long" in short.stderr
    unknown = invoke("users", "create", "bob", "--role", "boss", "--password-stdin", input="x" * 9)
    assert unknown.exit_code == 1 and "role 'boss' does not exist" in unknown.stderr
    missing = invoke("users", "delete", "nobody")
    assert missing.exit_code == 1 and "no user 'nobody'" in missing.stderr


def test_roles_round_trip(store: SqlStore) -> None:
    made = invoke("roles", "create", "team-a", "--level", "op", "--dag-tag", "a", "--dag-tag", "b")
    assert made.stdout == "Created role team-a (op on DAGs tagged a, b)\n"
    roles = json.loads(invoke("roles", "list", "-o", "json").stdout)
    assert [(r["name"], r["dag_tags"]) for r in roles] == [
        ("admin", None),
        ("op", None),
        ("viewer", None),
        ("team-a", ["a", "b"]),
    ]
    invoke("users", "create", "tess", "--role", "team-a", "--password-stdin", input="x" * 9)
    in_use = invoke("roles", "delete", "team-a")
    assert in_use.exit_code == 1 and "in use by tess" in in_use.stderr
    invoke("users", "delete", "tess")
    assert invoke("roles", "delete", "team-a").stdout == "Deleted role team-a\n"
    admin_level = invoke("roles", "create", "boss", "--level", "admin")
    assert admin_level.exit_code == 2


def test_tokens_are_printed_once_and_revoked(store: SqlStore) -> None:
    invoke("users", "create", "alice", "--role", "op", "--password-stdin", input="long enough\n")
    made = invoke("tokens", "create", "--user", "alice", "--name", "ci", "--expires-in-days", "30")
    assert made.exit_code == 0, made.output
    lines = made.stdout.splitlines()
    token = lines[1]
    assert token.startswith("hw_") and lines[2] == "Copy it now: it is not shown again."
    [row] = store.list_tokens("alice")
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.expires_at is not None
    listed = invoke("tokens", "list", "--user", "alice")
    assert row.id in listed.stdout and token not in listed.stdout and "active" in listed.stdout
    assert invoke("tokens", "revoke", row.id).stdout == f"Revoked token {row.id}\n"
    data = json.loads(invoke("tokens", "list", "-o", "json").stdout)
    assert data[0]["active"] is False and "token" not in data[0]
    missing = invoke("tokens", "revoke", "nope")
    assert missing.exit_code == 1 and "no token 'nope'" in missing.stderr
    too_long = invoke(
        "tokens", "create", "--user", "alice", "--name", "x", "--expires-in-days", "0"
    )
    assert too_long.exit_code == 2


def test_a_token_created_with_json_output_is_shown_once_unmasked(store: SqlStore) -> None:
    """``-o json`` is for scripts: the token is its answer, not a secret to hide from it."""
    invoke("users", "create", "alice", "--role", "op", "--password-stdin", input="long enough\n")
    made = invoke("tokens", "create", "--user", "alice", "--name", "ci", "-o", "json")
    assert made.exit_code == 0, made.output
    data = json.loads(made.stdout)
    assert data["token"].startswith("hw_") and data["username"] == "alice"
    [row] = store.list_tokens("alice")
    assert row.token_hash == hashlib.sha256(data["token"].encode()).hexdigest()
