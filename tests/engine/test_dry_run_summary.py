"""The dry run's per-function summary, in process on typed answers (no model): "every answer the same
score" is said of two answers or more, never of a single one."""

from __future__ import annotations

import pytest

from engine.contract.config import config_from_dict
from engine.generation.dry_run import dry_run


@pytest.mark.parametrize("texts, constant", [(["<answer>72</answer>"], False),
                                             (["<answer>72</answer>", "<answer>72</answer>"], True),
                                             (["<answer>72</answer>", "72"], False)])
def test_the_same_score_warning_needs_two_answers(texts, constant):
    config = config_from_dict({"method": {"name": "grpo"}, "dataset": {"source": "builtin:arithmetic-prompts"},
                               "rewards": [{"name": "format"}]})
    result = dry_run(config, n=1, source="text", per_prompt=1, texts=texts)
    assert result["answers"] == len(texts)
    assert result["summary"]["format"]["constant"] is constant
