"""The accounts port (:class:`headwater.store.ports.UserStore`): users, roles, API tokens,
sessions and failed logins behave alike on MemoryStore and SqlStore (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from db_records import T0
from headwater.db.rows import LoginFailureRow, RoleRow, SessionRow, TokenRow, UserRow
from headwater.store.ports import Store


def _user(name: str, role: str = "viewer") -> UserRow:
    return UserRow(name, f"hash-of-{name}", role, created_at=T0)


def _token(token_id: str, username: str, day: int = 0) -> TokenRow:
    return TokenRow(
        token_id,
        name=f"token {token_id}",
        username=username,
        token_hash=f"{token_id:0>64}",
        prefix="hw_abc",
        created_at=T0 + timedelta(days=day),
    )


def _session(id_hash: str, username: str) -> SessionRow:
    return SessionRow(id_hash, username, "csrf", T0, T0, T0 + timedelta(hours=1))


def test_users_are_added_once_listed_by_name_changed_and_deleted(any_store: Store) -> None:
    assert any_store.add_user(_user("zoe"))
    assert any_store.add_user(_user("adam", role="admin"))
    assert not any_store.add_user(_user("zoe", role="admin"))
    assert any_store.get_user("zoe") == _user("zoe")
    assert [u.username for u in any_store.list_users()] == ["adam", "zoe"]
    later = T0 + timedelta(hours=2)
    assert any_store.update_user("zoe", role="op", last_login_at=later, disabled=True)
    changed = any_store.get_user("zoe")
    assert changed == UserRow("zoe", "hash-of-zoe", "op", T0, last_login_at=later, disabled=True)
    assert any_store.update_user("zoe", password_hash="new")
    assert any_store.get_user("zoe").password_hash == "new"  # type: ignore[union-attr]
    assert any_store.get_user("zoe").role == "op"  # type: ignore[union-attr]
    assert not any_store.update_user("nobody", role="op")
    assert any_store.delete_user("zoe")
    assert not any_store.delete_user("zoe")
    assert any_store.get_user("zoe") is None


def test_roles_keep_their_level_and_tags(any_store: Store) -> None:
    assert any_store.add_role(RoleRow("team-b", "op", ["b"]))
    assert any_store.add_role(RoleRow("team-a", "viewer", ["a", "shared"]))
    assert not any_store.add_role(RoleRow("team-a", "op", []))
    assert any_store.get_role("team-a") == RoleRow("team-a", "viewer", ["a", "shared"])
    assert [r.name for r in any_store.list_roles()] == ["team-a", "team-b"]
    assert any_store.delete_role("team-a")
    assert not any_store.delete_role("team-a")
    assert any_store.get_role("team-a") is None


def test_tokens_are_found_by_hash_listed_per_user_and_revoked(any_store: Store) -> None:
    any_store.add_user(_user("ann"))
    any_store.add_user(_user("bob"))
    any_store.add_token(_token("t2", "ann", day=1))
    any_store.add_token(_token("t1", "ann", day=0))
    any_store.add_token(_token("t3", "bob", day=2))
    assert any_store.find_token(f"{'t3':0>64}") == _token("t3", "bob", day=2)
    assert any_store.find_token("0" * 64) is None
    assert [t.id for t in any_store.list_tokens()] == ["t1", "t2", "t3"]
    assert [t.id for t in any_store.list_tokens("ann")] == ["t1", "t2"]
    used = T0 + timedelta(days=3)
    assert any_store.update_token("t1", last_used_at=used)
    assert any_store.update_token("t1", revoked_at=used + timedelta(hours=1))
    token = any_store.get_token("t1")
    assert token is not None
    assert (token.last_used_at, token.revoked_at) == (used, used + timedelta(hours=1))
    assert not any_store.update_token("t9", revoked_at=used)
    assert any_store.get_token("t9") is None


def test_sessions_slide_and_end(any_store: Store) -> None:
    any_store.add_user(_user("ann"))
    any_store.add_session(_session("s1", "ann"))
    any_store.add_session(_session("s2", "ann"))
    assert any_store.get_session("s1") == _session("s1", "ann")
    seen, ends = T0 + timedelta(minutes=5), T0 + timedelta(hours=2)
    assert any_store.touch_session("s1", seen, ends)
    touched = any_store.get_session("s1")
    assert touched is not None and (touched.last_seen_at, touched.expires_at) == (seen, ends)
    assert not any_store.touch_session("nope", seen, ends)
    assert any_store.delete_session("s1")
    assert not any_store.delete_session("s1")
    assert any_store.delete_sessions("ann") == 1
    assert any_store.get_session("s2") is None


def test_deleting_a_user_deletes_their_tokens_and_sessions(any_store: Store) -> None:
    any_store.add_user(_user("ann"))
    any_store.add_user(_user("bob"))
    any_store.add_token(_token("t1", "ann"))
    any_store.add_token(_token("t2", "bob"))
    any_store.add_session(_session("s1", "ann"))
    any_store.delete_user("ann")
    assert [t.id for t in any_store.list_tokens()] == ["t2"]
    assert any_store.get_session("s1") is None


def test_login_failures_are_replaced_and_cleared(any_store: Store) -> None:
    assert any_store.get_login_failure("user:ann") is None
    any_store.set_login_failure(LoginFailureRow("user:ann", 1, T0))
    locked = LoginFailureRow("user:ann", 5, T0, locked_until=T0 + timedelta(minutes=5))
    any_store.set_login_failure(locked)
    assert any_store.get_login_failure("user:ann") == locked
    assert any_store.clear_login_failure("user:ann")
    assert not any_store.clear_login_failure("user:ann")
    assert any_store.get_login_failure("user:ann") is None


def test_accounts_written_in_a_failed_unit_of_work_are_not_kept(any_store: Store) -> None:
    try:
        with any_store.unit_of_work() as uow:
            uow.add_user(_user("ann"))
            uow.record_event("create_user", at=T0, detail="ann", actor="root")
            raise RuntimeError("refused")
    except RuntimeError:
        pass
    assert any_store.get_user("ann") is None


def test_events_keep_who_did_them(any_store: Store) -> None:
    any_store.record_event("pause", at=T0, dag_id="etl", actor="ann")
    any_store.record_event("pause", at=T0, dag_id="etl")
    assert [e.actor for e in any_store.list_events()] == ["ann", None]
