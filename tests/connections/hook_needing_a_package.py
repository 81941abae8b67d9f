"""A hook module whose client package is not installed."""

import headwater_test_no_such_client  # noqa: F401
