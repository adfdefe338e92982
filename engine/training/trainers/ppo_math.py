"""The pure-tensor math of our PPO trainer (RLHF on language models).

Nothing here touches a model, an optimizer or a tokenizer: every function takes
tensors and returns tensors, so each piece can be checked against numbers
worked out by hand (see ``tests/engine/test_ppo_math.py``).

Conventions
-----------
* Every per-token tensor is ``[batch, T]`` and covers the *response tokens only*
  (the prompt is not part of it). Row ``b``, column ``t`` is the ``t``-th
  generated token of sample ``b``.
* ``mask`` is ``[batch, T]``, float or bool: 1 for a real response token, 0 for
  padding. Padding is on the RIGHT: a row's real tokens are ``0 .. last``.
* Padded positions may hold anything (garbage, huge numbers, even NaN): we
  select with ``torch.where`` rather than multiplying by the mask, because
  ``nan * 0`` is still NaN. Per-token outputs are 0 on padded positions.
* Log-probabilities are natural logs of the probability of the sampled token.
  ``logprobs`` come from the policy being trained, ``old_logprobs`` from the
  same policy when the rollout was generated, ``ref_logprobs`` from the frozen
  reference model.
* The reward model gives one scalar ``score`` per sequence; it is credited to
  the last real token, and every token also pays a KL penalty
  ``-kl_coef * kl`` for drifting from the reference.
* Losses are to be *minimised*; they are means over all real tokens of the
  batch (token-level averaging, so a long response weighs more than a short
  one).
* Callers compute rewards, advantages and returns on detached tensors (under
  ``torch.no_grad()``); only the loss functions and the logits helpers are meant
  to carry gradients.
"""

from __future__ import annotations

from typing import Literal

import torch

KLEstimator = Literal["k1", "k3"]


def _as_bool(mask: torch.Tensor) -> torch.Tensor:
    """The mask as booleans (callers may pass 0/1 floats)."""
    return mask if mask.dtype == torch.bool else mask != 0


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of ``x`` over the entries where ``mask`` is set (over ``dim``, or all).

    An all-zero mask (overall, or for one row when ``dim`` is given) gives NaN,
    as a mean over nothing should.
    """
    m = _as_bool(mask)
    # where, not x * mask: padding may hold inf/NaN, and nan * 0 == nan.
    total = torch.where(m, x, torch.zeros((), dtype=x.dtype, device=x.device))
    if dim is None:
        return total.sum() / m.sum()
    return total.sum(dim=dim) / m.sum(dim=dim)


def masked_var(x: torch.Tensor, mask: torch.Tensor, unbiased: bool = True) -> torch.Tensor:
    """Variance (a scalar) of ``x`` over the entries where ``mask`` is set.

    ``unbiased`` applies Bessel's correction n / (n - 1); that needs at least two
    real entries, else ValueError.
    """
    m = _as_bool(mask)
    mean = masked_mean(x, m)
    centered = torch.where(m, x - mean, torch.zeros((), dtype=x.dtype, device=x.device))
    var = masked_mean(centered * centered, m)
    if unbiased:
        n = int(m.sum().item())
        if n < 2:
            raise ValueError(f"unbiased variance needs at least 2 masked entries, got {n}")
        var = var * (n / (n - 1))
    return var


def masked_whiten(
    x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True, eps: float = 1e-8
) -> torch.Tensor:
    """Normalise ``x`` to mean 0 and variance 1 over the masked entries.

    The variance is the population (biased) one, so the whitened real entries
    have mean 0 and mean square exactly 1 (up to ``eps``), and a batch with a
    single real token whitens to 0 instead of failing. With
    ``shift_mean=False`` the original mean is added back (only the scale is
    normalised). Padded positions are 0 in the output.
    """
    m = _as_bool(mask)
    mean = masked_mean(x, m)
    var = masked_var(x, m, unbiased=False)
    whitened = (x - mean) * torch.rsqrt(var + eps)
    if not shift_mean:
        whitened = whitened + mean
    return torch.where(m, whitened, torch.zeros((), dtype=whitened.dtype, device=whitened.device))


def kl_per_token(
    logprobs: torch.Tensor, ref_logprobs: torch.Tensor, estimator: KLEstimator = "k1"
) -> torch.Tensor:
    """Per-token estimate of KL(policy || reference) from sampled-token log-probs.

    ``k1`` = logp - ref: unbiased, but can be negative for a single token.
    ``k3`` = (exp(ref - logp) - 1) - (ref - logp): also unbiased under samples
    from the policy, always >= 0 and lower-variance.
    """
    if estimator == "k1":
        return logprobs - ref_logprobs
    if estimator == "k3":
        log_ratio = ref_logprobs - logprobs
        # expm1 keeps precision when the two log-probs are close.
        return torch.expm1(log_ratio) - log_ratio
    raise ValueError(f"unknown KL estimator {estimator!r}; expected 'k1' or 'k3'")


def _last_real_index(mask: torch.Tensor) -> torch.Tensor:
    """Index [B] of the last position where ``mask`` is set in each row."""
    m = _as_bool(mask)
    positions = torch.arange(m.shape[-1], device=m.device).expand_as(m)
    last = torch.where(m, positions, torch.full_like(positions, -1)).max(dim=-1).values
    if bool((last < 0).any()):
        empty = (last < 0).nonzero().flatten().tolist()
        raise ValueError(f"rows {empty} have no real response token (mask is all zero)")
    return last


def penalized_rewards(
    score: torch.Tensor,
    logprobs: torch.Tensor,
    ref_logprobs: torch.Tensor,
    mask: torch.Tensor,
    kl_coef: float,
    estimator: KLEstimator = "k1",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards: the KL penalty everywhere, plus the score at the end.

    Returns ``(rewards, kl)``, both ``[B, T]`` and 0 on padding:
    ``rewards[b, t] = -kl_coef * kl[b, t]``, and ``score[b]`` is added at the
    last real token of row ``b`` (the reward model judged the whole sequence,
    which is only complete there). A row with no real token raises ValueError.
    """
    m = _as_bool(mask)
    zero = torch.zeros((), dtype=logprobs.dtype, device=logprobs.device)
    kl = torch.where(m, kl_per_token(logprobs, ref_logprobs, estimator), zero)
    rewards = -kl_coef * kl
    last = _last_real_index(m)
    # One-hot at the last real token instead of an in-place index add, so the
    # function stays free of in-place ops on tensors a caller may still hold.
    at_last = torch.nn.functional.one_hot(last, num_classes=m.shape[-1]).to(rewards.dtype)
    rewards = rewards + at_last * score.to(rewards.dtype).unsqueeze(-1)
    return rewards, kl


def compute_gae(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation, backwards over the response tokens.

    delta_t = r_t + gamma * V_{t+1} - V_t, A_t = delta_t + gamma * lam * A_{t+1},
    where V_{t+1} and A_{t+1} are 0 past the last real token: the episode ends
    there (the score was paid), so nothing is bootstrapped from padding.
    Returns ``(advantages, returns)`` with returns = advantages + values (the
    value-function targets); both are 0 on padding.
    """
    m = _as_bool(mask)
    zero = torch.zeros((), dtype=values.dtype, device=values.device)
    # Padded values/rewards may be garbage: zero them so they can never leak
    # into a real position through the recursion.
    values = torch.where(m, values, zero)
    rewards = torch.where(m, rewards.to(values.dtype), zero)
    batch, steps = values.shape
    advantages_reversed: list[torch.Tensor] = []
    next_value = torch.zeros(batch, dtype=values.dtype, device=values.device)
    next_advantage = torch.zeros_like(next_value)
    for t in reversed(range(steps)):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        advantage = torch.where(m[:, t], delta + gamma * lam * next_advantage, zero)
        advantages_reversed.append(advantage)
        # values/advantage are already 0 on padding, so a padded t+1 acts as
        # the terminal state for the last real token.
        next_value = values[:, t]
        next_advantage = advantage
    advantages = torch.stack(advantages_reversed[::-1], dim=1)
    returns = torch.where(m, advantages + values, zero)
    return advantages, returns


def clipped_surrogate_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    cliprange: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PPO's clipped policy loss.

    ratio = exp(logp - old_logp); per token the loss is the larger (more
    pessimistic) of -A * ratio and -A * clip(ratio, 1 - c, 1 + c), averaged over
    real tokens. Returns ``(loss, clip_fraction, approx_kl)``: the fraction of
    real tokens where the clipped term was strictly larger (so no gradient
    flowed through them), and mean(0.5 * (logp - old_logp)^2). The two
    diagnostics are detached.
    """
    m = _as_bool(mask)
    zero = torch.zeros((), dtype=logprobs.dtype, device=logprobs.device)
    # Mask before exp: a garbage padded log-ratio could overflow to inf (or an
    # advantage be NaN), and inf/NaN in the graph turns the zero gradients of
    # padded positions into NaN (0 * inf == nan).
    log_ratio = torch.where(m, logprobs - old_logprobs, zero)
    advantages = torch.where(m, advantages.to(logprobs.dtype), zero)
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange)
    loss = masked_mean(torch.maximum(unclipped, clipped), m)
    clip_fraction = masked_mean((clipped > unclipped).to(logprobs.dtype), m).detach()
    approx_kl = masked_mean(0.5 * log_ratio.detach() ** 2, m)
    return loss, clip_fraction, approx_kl


def clipped_value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    cliprange_value: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's clipped value loss.

    The new value may move at most ``cliprange_value`` from the rollout's value;
    per token the loss is the larger of the unclipped and clipped squared
    errors, and the result is 0.5 * their mean over real tokens. Returns
    ``(loss, clip_fraction)``, the latter (detached) being the fraction of real
    tokens where the clipped error was strictly larger.
    """
    m = _as_bool(mask)
    zero = torch.zeros((), dtype=values.dtype, device=values.device)
    # Zero the padding first so garbage there cannot produce inf/NaN gradients.
    values = torch.where(m, values, zero)
    old_values = torch.where(m, old_values, zero)
    returns = torch.where(m, returns, zero)
    values_clipped = old_values + torch.clamp(values - old_values, -cliprange_value, cliprange_value)
    error_unclipped = (values - returns) ** 2
    error_clipped = (values_clipped - returns) ** 2
    loss = 0.5 * masked_mean(torch.maximum(error_unclipped, error_clipped), m)
    clip_fraction = masked_mean((error_clipped > error_unclipped).to(values.dtype), m).detach()
    return loss, clip_fraction


def entropy_from_logits(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean (over real tokens) entropy of the next-token distributions.

    H = logsumexp(z) - sum_i softmax(z)_i * z_i, evaluated on z - max(z): the
    entropy does not change under a shift, and without it the two terms are
    both about max(z) and cancel catastrophically (float32 logits near 1e4
    would lose three digits). logsumexp never exponentiates a raw logit, so
    nothing overflows. Computed in float32 at least, since bf16 logits lose too
    much precision here. Logits must be finite.
    """
    z = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
    shifted = z - z.amax(dim=-1, keepdim=True).detach()
    log_normalizer = torch.logsumexp(shifted, dim=-1)
    probs = torch.softmax(shifted, dim=-1)
    entropy = log_normalizer - (probs * shifted).sum(dim=-1)
    return masked_mean(entropy, mask)


def logprobs_from_logits(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Log-probability ``[B, T]`` of each given token under its logits ``[B, T, V]``.

    ``logits[:, t]`` must be the distribution that produced ``tokens[:, t]``
    (i.e. already shifted by one relative to the model's input). Computed in
    float32 at least, for the same reason as the entropy.
    """
    z = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
    log_probs = torch.log_softmax(z, dim=-1)
    return torch.gather(log_probs, dim=-1, index=tokens.long().unsqueeze(-1)).squeeze(-1)
