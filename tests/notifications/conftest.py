"""The real servers the notifier tests talk to (notification_servers.py), as fixtures."""

from notification_servers import _no_proxy, quick_notifications, receiver, smtp_server

__all__ = ["_no_proxy", "quick_notifications", "receiver", "smtp_server"]
