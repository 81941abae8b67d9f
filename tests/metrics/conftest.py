"""The metrics tests reuse the scheduler's harness and process helpers."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "scheduler"))
