"""EmptyOperator: does nothing; a join point or placeholder."""

from __future__ import annotations

from typing import Any

from headwater.authoring.operator import BaseOperator


class EmptyOperator(BaseOperator):
    """A task that succeeds at once without doing anything."""

    ui_color = "#e8f7e4"

    def execute(self, context: dict[str, Any]) -> None:
        return None
