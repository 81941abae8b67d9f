"""FSHook: a folder on the local file system as a connection."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.exceptions import HeadwaterError
from headwater.hooks.filesystem import FSHook
from headwater.hooks.registry import hook_class
from headwater.secrets import Connection, use_metastore
from headwater.store import MemoryStore


def _store_with(connection: Connection) -> MemoryStore:
    store = MemoryStore()
    store.set_connection(connection)
    return store


def test_the_folder_comes_from_extra_path_and_files_resolve_under_it(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text("id\n1\n")
    store = _store_with(Connection("landing", "fs", extra={"path": str(tmp_path)}))
    with use_metastore(store):
        hook = FSHook("landing")
        assert hook.get_path() == tmp_path
        assert hook.resolve("orders.csv").read_text() == "id\n1\n"
        assert hook.test_connection() == (True, f"{tmp_path} is a folder")


def test_a_name_outside_the_folder_is_refused(tmp_path: Path) -> None:
    store = _store_with(Connection("landing", "fs", extra={"path": str(tmp_path)}))
    with use_metastore(store), pytest.raises(HeadwaterError, match="outside the folder"):
        FSHook("landing").resolve("../etc/passwd")


def test_a_connection_without_a_folder_says_what_to_set() -> None:
    store = _store_with(Connection("landing", "fs"))
    with use_metastore(store):
        ok, message = FSHook("landing").test_connection()
    assert not ok
    assert "names no folder" in message


def test_a_missing_folder_fails_the_connection_test(tmp_path: Path) -> None:
    store = _store_with(Connection("landing", "fs", host=str(tmp_path / "absent")))
    with use_metastore(store):
        assert FSHook("landing").test_connection() == (
            False,
            f"{tmp_path / 'absent'} is not a folder",
        )


def test_the_registry_serves_fs_with_fshook() -> None:
    assert hook_class("fs") is FSHook
