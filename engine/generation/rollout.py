"""Sampling answers from a policy and re-reading them token by token (worker only).

Used by PPO for rollouts and by the probe sampler for answers shown during
training. Prompts are left-padded so every answer starts at the same column;
answers end at the first end-of-turn token, which is kept (the model must learn
to stop) and everything after it is padding.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import torch

from engine.models.chat_setup import prompt_token_ids


@dataclass
class RolloutBatch:
    """Prompts and sampled answers as aligned tensors, plus PPO's per-token numbers."""

    input_ids: torch.Tensor  # [B, P + T] prompt (left-padded) then answer
    attention_mask: torch.Tensor  # [B, P + T]
    prompt_length: int  # P
    response_ids: torch.Tensor  # [B, T]
    response_mask: torch.Tensor  # [B, T] 1 up to and including the end-of-turn token
    ended: torch.Tensor  # [B] bool: the answer ended by itself
    completions: list[str] = field(default_factory=list)
    temperature: float = 1.0
    old_logprobs: torch.Tensor | None = None
    old_values: torch.Tensor | None = None
    advantages: torch.Tensor | None = None
    returns: torch.Tensor | None = None

    def select(self, index: torch.Tensor) -> "RolloutBatch":
        """The rows at ``index`` (tensors only; texts are not needed for updates)."""
        picked = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, torch.Tensor):
                picked[f.name] = value[index]
        return replace(self, completions=[], **picked)


@torch.no_grad()
def generate_rollouts(model: Any, tokenizer: Any, prompts: list[Any], max_new_tokens: int, temperature: float,
                      device: torch.device, do_sample: bool = True) -> RolloutBatch:
    """Sample one answer per prompt and return it as a ``RolloutBatch``."""
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        ids = prompt_token_ids(tokenizer, prompts)
        encoded = tokenizer.pad({"input_ids": ids}, padding=True, return_tensors="pt").to(device)
    finally:
        tokenizer.padding_side = side
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    sampling = {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0} if do_sample else \
        {"do_sample": False}
    # The trainer turns the KV cache off for training; generation without it is quadratic.
    output = model.generate(**encoded, max_new_tokens=max_new_tokens, pad_token_id=pad, eos_token_id=eos, use_cache=True,
                            **sampling)
    prompt_length = encoded["input_ids"].shape[1]
    response = output[:, prompt_length:]
    if response.shape[1] == 0:  # nothing generated at all: keep one (padding) column so shapes stay valid
        response = torch.full((output.shape[0], 1), pad, dtype=output.dtype, device=output.device)
    is_eos = response == eos
    ended = is_eos.any(dim=1)
    first_eos = torch.where(ended, is_eos.float().argmax(dim=1), torch.full_like(ended, response.shape[1] - 1,
                                                                                   dtype=torch.long))
    positions = torch.arange(response.shape[1], device=response.device).unsqueeze(0)
    response_mask = (positions <= first_eos.unsqueeze(1)).long()
    response = torch.where(response_mask.bool(), response, torch.full_like(response, pad))
    completions = [
        tokenizer.decode(row[mask.bool()], skip_special_tokens=True) for row, mask in zip(response, response_mask)
    ]
    return RolloutBatch(
        input_ids=torch.cat([encoded["input_ids"], response], dim=1),
        attention_mask=torch.cat([encoded["attention_mask"], response_mask], dim=1),
        prompt_length=prompt_length,
        response_ids=response,
        response_mask=response_mask,
        ended=ended,
        completions=completions,
        temperature=temperature,
    )


def sequence_forward(model: Any, batch: RolloutBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (temperature-scaled) and last hidden states at the answer's positions: [B, T, V], [B, T, H]."""
    positions = (batch.attention_mask.cumsum(dim=1) - 1).clamp(min=0)
    output = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, position_ids=positions,
                   output_hidden_states=True, use_cache=False)
    start = batch.prompt_length - 1  # the logits at position i predict token i + 1
    end = start + batch.response_ids.shape[1]
    logits = output.logits[:, start:end, :].float() / batch.temperature
    hidden = output.hidden_states[-1][:, start:end, :]
    return logits, hidden
