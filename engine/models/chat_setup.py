"""Give a loaded tokenizer (and model) the setup's chat format, and shape rows to it (engine processes only).

The tokenizer leaves here with the setup's template (thinking fixed) and its end-of-turn token as its EOS,
and the model's generation config stops on that token as well as on the old EOS. Everything downstream
(TRL's labels, sampling, the playground, the saved adapter's tokenizer, exports and their Modelfile) reads
``tokenizer.eos_token`` and so stops where a turn ends, not where a document would.
"""

from __future__ import annotations

import os
from typing import Any

from engine.contract.config import ConfigError, ModelConfig
from engine.models.templates import (THINK_CLOSE, THINK_OPEN, ChatFormat, TemplateError, chat_format, has_system_role,
                                     merge_system, split_thinking)


def apply_chat_format(tokenizer: Any, model_cfg: ModelConfig) -> ChatFormat:
    """Set the template and the end-of-turn token on ``tokenizer``; a setting that cannot work is a
    ``ConfigError`` naming its key (raised before the model loads)."""
    own = tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else None
    tokens = list(tokenizer.all_special_tokens) + list(tokenizer.get_added_vocab())
    try:
        chat = chat_format(model_cfg.chat_template, model_cfg.enable_thinking, own, tokens,
                           tokenizer.bos_token or "", tokenizer.eos_token or "", set(tokenizer.get_vocab()))
    except TemplateError as error:
        raise ConfigError([(error.key, str(error))]) from None
    if chat.template:
        tokenizer.chat_template = chat.template
    if chat.end_of_turn and chat.end_of_turn != tokenizer.eos_token:
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token  # the document end pads; the turn end is learnt
        tokenizer.eos_token = chat.end_of_turn
    return chat


def stop_on_end_of_turn(model: Any, tokenizer: Any) -> None:
    """Make ``generate`` (and every saved generation_config) stop at the end of a turn, and still at EOS."""
    config = getattr(model, "generation_config", None)
    if config is None or tokenizer.eos_token_id is None:
        return
    old = config.eos_token_id
    old = [] if old is None else [old] if isinstance(old, int) else list(old)
    config.eos_token_id = list(dict.fromkeys([tokenizer.eos_token_id, *old]))
    if len(config.eos_token_id) == 1:
        config.eos_token_id = config.eos_token_id[0]


def fold_system_turns(rows: list[dict[str, Any]], tokenizer: Any) -> int:
    """Fold each chat's system turn into its first user turn when the tokenizer's template has no system
    role (Gemma); returns how many rows had one."""
    if has_system_role(tokenizer.chat_template, tokenizer.bos_token or "", tokenizer.eos_token or ""):
        return 0
    folded = 0
    for row in rows:
        for key in ("prompt", "messages"):
            turns = row.get(key)
            if isinstance(turns, list) and turns and turns[0].get("role") == "system":
                row[key] = merge_system(turns)
                folded += 1
    return folded


def thinking_as_context(rows: list[dict[str, Any]], tokenizer: Any) -> int:
    """Render chat prompt/answer rows as text, with each answer's ``<think>`` block moved into the prompt, so
    the loss covers the final answer alone; returns how many rows had such a block.

    TRL computes the loss on ``completion`` only; a chat row is rendered here the way TRL would render it,
    then cut after ``</think>``. All rows become text, since TRL reads the first row to decide whether a
    dataset is chat. The completion keeps its end-of-turn token (the stop that must be learnt) and loses
    what follows it, so TRL does not add a second one.
    """
    eos = tokenizer.eos_token or ""
    adds_bos = bool(tokenizer.bos_token) and tokenizer("x").input_ids[:1] == [tokenizer.bos_token_id]
    moved = 0
    for row in rows:
        prompt, completion = row.get("prompt"), row.get("completion")
        if not (isinstance(prompt, list) and isinstance(completion, list)):
            continue
        context = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
        full = tokenizer.apply_chat_template(prompt + completion, tokenize=False)
        # A template may render the prompt alone differently (as TRL notes): the answer starts where they part.
        context = os.path.commonprefix([context, full])
        thought, answer = split_thinking(full[len(context):])
        moved += bool(thought.replace(THINK_OPEN, "").replace(THINK_CLOSE, "").strip())  # not Qwen3's empty block
        if eos and eos in answer:
            answer = answer[: answer.rindex(eos) + len(eos)]
        context += thought
        if adds_bos and context.startswith(tokenizer.bos_token):
            context = context[len(tokenizer.bos_token):]  # the tokenizer puts it back
        row["prompt"], row["completion"] = context, answer
    return moved


# Appended to a prompt to see how its last characters tokenise once an answer follows them.
_ANSWER_START = "A"


def prompt_token_ids(tokenizer: Any, prompts: list[Any]) -> list[list[int]]:
    """Each prompt's token ids as the model saw them in training, ready for it to answer.

    A byte-level BPE may tokenise the end of a prompt differently alone than with the answer after it
    (``"\\n\\n"`` is one token at the end of a text, two before a word). TRL trains on the second (the
    answer starts where prompt and prompt + answer part), so the prompt is cut where it would part from
    any answer; the model then writes that last piece itself, as it learnt to.
    """
    from engine.models.chat_template import render_prompts

    encoded = []
    for text in render_prompts(tokenizer, prompts):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        followed = tokenizer(text + _ANSWER_START, add_special_tokens=False)["input_ids"]
        encoded.append(ids[: _common_prefix(ids, followed)] or ids)
    return encoded


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n
