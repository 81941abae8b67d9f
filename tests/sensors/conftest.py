"""The real services these tests wait on (tests/waiting_services.py), as fixtures."""

from waiting_services import scripted_api, wait_db

__all__ = ["scripted_api", "wait_db"]
