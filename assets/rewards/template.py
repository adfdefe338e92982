"""A reward function for rft. Each function scores a batch of answers.

prompts:     the prompts, as text or chat turns
completions: the answers, as text or a list with one assistant turn
**kwargs:    the dataset's other columns, one value per answer (e.g. answer=[...])

Return one float per answer (higher is better), or None for "no opinion".
Give answers different scores: if every answer of a prompt scores the same,
GRPO learns nothing from that prompt.
"""

import re


def _text(completion):
    return completion if isinstance(completion, str) else completion[-1]["content"]


def reward(prompts, completions, answer=None, **kwargs):
    scores = []
    for i, completion in enumerate(completions):
        text = _text(completion)
        score = 0.0
        if re.search(r"<answer>.*?</answer>", text, re.S):
            score += 0.5  # partial credit for the format
        if answer is not None and re.search(rf"<answer>\s*{re.escape(str(answer[i]))}\s*</answer>", text):
            score += 0.5  # the right number
        scores.append(score)
    return scores
