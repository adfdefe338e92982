"""What a dataset check produces: the error a person reads, or the prepared rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.contract.errors import ExplainedError


class DatasetError(ExplainedError, ValueError):
    """A dataset that cannot be used, saying what is wrong, where, and how to fix it."""


@dataclass
class PreparedDataset:
    """Rows normalised for a method, with what was detected on the way."""

    rows: list[dict[str, Any]]
    format: str
    source: str
    columns: list[str]
    # The columns the format does not use: what reward functions receive besides prompts and completions.
    extra_columns: list[str] = field(default_factory=list)

    @property
    def conversational(self) -> bool:
        """Whether the rows are chats (messages, or prompt/answer turns as lists of messages), which only a
        model with a chat template can render."""
        return self.format == "messages" or any(
            isinstance(self.rows[0].get(key), list) for key in ("prompt", "completion", "chosen")
        ) if self.rows else False
