"""The real servers these tests talk to (local_servers.py), as fixtures."""

from local_servers import _no_proxy, http_api, smtp_server

__all__ = ["_no_proxy", "http_api", "smtp_server"]
