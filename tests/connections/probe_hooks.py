"""Hooks for the ``connections test`` tests: each reaches a real TCP server (or fails to)
through the connection it is given, as a real hook does."""

from __future__ import annotations

import socket

from headwater.hooks.base import BaseHook


class TcpProbeHook(BaseHook):
    """Opens a TCP connection to the connection's host and port."""

    conn_type = "tcp_probe"
    hook_name = "TCP probe"

    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id

    def test_connection(self) -> tuple[bool, str]:
        connection = self.get_connection(self.conn_id)
        try:
            with socket.create_connection((connection.host or "", connection.port or 0), 5):
                return True, f"reached {connection.host}:{connection.port}"
        except OSError as exc:
            return False, f"cannot reach {connection.host}:{connection.port}: {exc.strerror}"


class LeakyHook(BaseHook):
    """Fails with its connection's password in the message, as careless clients do."""

    conn_type = "leaky"

    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id

    def test_connection(self) -> tuple[bool, str]:
        connection = self.get_connection(self.conn_id)
        raise RuntimeError(f"login failed for password {connection.password}")
