"""The PPO math, checked against numbers worked out by hand.

Every expected value below is written out (or is a closed-form expression such
as log(1.5)), never recomputed with the function under test. Padded positions
deliberately hold garbage (huge numbers, NaN) to prove they are ignored.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.testing import assert_close

from engine.training.trainers.ppo_math import (
    clipped_surrogate_loss,
    clipped_value_loss,
    compute_gae,
    entropy_from_logits,
    kl_per_token,
    logprobs_from_logits,
    masked_mean,
    masked_var,
    masked_whiten,
    penalized_rewards,
)

NAN = float("nan")


def t(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


# Shared example: real entries are 1, 2 (row 0) and 4 (row 1); the rest is padding.
X = t([[1.0, 2.0, NAN], [4.0, 99.0, -1e30]])
MASK = t([[1, 1, 0], [1, 0, 0]])


# ---------------------------------------------------------------- masked stats


def test_masked_mean_all_and_per_row():
    # (1 + 2 + 4) / 3 = 7/3; rows: (1 + 2) / 2 = 1.5 and 4 / 1 = 4.
    assert_close(masked_mean(X, MASK), torch.tensor(7.0 / 3.0))
    assert_close(masked_mean(X, MASK, dim=1), t([1.5, 4.0]))
    # A bool mask means the same thing as a 0/1 float mask.
    assert_close(masked_mean(X, MASK.bool()), torch.tensor(7.0 / 3.0))


def test_masked_var_biased_and_unbiased():
    # mean 7/3; deviations -4/3, -1/3, 5/3; squares 16/9 + 1/9 + 25/9 = 42/9.
    # biased = 42/9 / 3 = 14/9; unbiased = 42/9 / 2 = 7/3.
    assert_close(masked_var(X, MASK, unbiased=False), torch.tensor(14.0 / 9.0))
    assert_close(masked_var(X, MASK, unbiased=True), torch.tensor(7.0 / 3.0))


def test_masked_var_unbiased_needs_two_entries():
    with pytest.raises(ValueError):
        masked_var(t([[3.0, 5.0]]), t([[1, 0]]), unbiased=True)
    assert_close(masked_var(t([[3.0, 5.0]]), t([[1, 0]]), unbiased=False), torch.tensor(0.0))


def test_masked_whiten_values_and_padding():
    # (x - 7/3) / sqrt(14/9) = deviation * 3 / sqrt(14): -4/sqrt14, -1/sqrt14, 5/sqrt14.
    s = math.sqrt(14.0)
    out = masked_whiten(X, MASK)
    assert_close(out, t([[-4 / s, -1 / s, 0.0], [5 / s, 0.0, 0.0]]))
    # Mean 0 and unit (population) variance over the real entries; pads exactly 0.
    assert_close(masked_mean(out, MASK), torch.tensor(0.0), atol=1e-6, rtol=0)
    assert_close(masked_var(out, MASK, unbiased=False), torch.tensor(1.0))
    assert out[0, 2].item() == 0.0 and out[1, 1].item() == 0.0 and out[1, 2].item() == 0.0


def test_masked_whiten_without_shift_keeps_mean():
    s = math.sqrt(14.0)
    m = 7.0 / 3.0
    out = masked_whiten(X, MASK, shift_mean=False)
    assert_close(out, t([[m - 4 / s, m - 1 / s, 0.0], [m + 5 / s, 0.0, 0.0]]))


# ---------------------------------------------------------------- KL and rewards


def test_kl_k1_and_k3():
    logp = t([[-1.0, -2.0, -0.7]])
    ref = t([[-1.5, -1.0, -0.7]])
    # k1 = logp - ref.
    assert_close(kl_per_token(logp, ref, "k1"), t([[0.5, -1.0, 0.0]]))
    # k3 with d = ref - logp = -0.5, 1.0, 0.0:
    #   exp(-0.5) - 1 + 0.5 = 0.6065306597 - 0.5 = 0.1065306597
    #   exp(1.0)  - 1 - 1.0 = 2.7182818285 - 2.0 = 0.7182818285
    #   exp(0)    - 1 - 0   = 0
    assert_close(kl_per_token(logp, ref, "k3"), t([[0.1065306597, 0.7182818285, 0.0]]))
    assert_close(kl_per_token(logp, ref), t([[0.5, -1.0, 0.0]]))  # default is k1


def test_kl_unknown_estimator():
    with pytest.raises(ValueError):
        kl_per_token(t([[0.0]]), t([[0.0]]), "k2")  # type: ignore[arg-type]


def test_penalized_rewards_score_on_last_real_token():
    # logp - ref: row 0 = 0.5, -1.0, 0.2 ; row 1 = 1.0, 0.3, (padding)
    logp = t([[-1.0, -2.0, -0.3], [-0.5, -1.2, -7.0]])
    ref = t([[-1.5, -1.0, -0.5], [-1.5, -1.5, 0.0]])
    mask = t([[1, 1, 1], [1, 1, 0]])
    score = t([2.0, -1.0])
    rewards, kl = penalized_rewards(score, logp, ref, mask, kl_coef=0.1)
    assert_close(kl, t([[0.5, -1.0, 0.2], [1.0, 0.3, 0.0]]))
    # -0.1 * kl, plus the score at index 2 (row 0) and index 1 (row 1):
    #   row 0: -0.05, 0.10, -0.02 + 2.0 = 1.98
    #   row 1: -0.10, -0.03 - 1.0 = -1.03, 0 (padding)
    assert_close(rewards, t([[-0.05, 0.1, 1.98], [-0.1, -1.03, 0.0]]))


def test_penalized_rewards_k3():
    logp = t([[-1.0, -2.0]])
    ref = t([[-1.5, -1.0]])
    rewards, kl = penalized_rewards(t([0.5]), logp, ref, t([[1, 1]]), kl_coef=0.2, estimator="k3")
    assert_close(kl, t([[0.1065306597, 0.7182818285]]))
    # -0.2 * k3, plus 0.5 on the last token: -0.0213061319, -0.1436563657 + 0.5.
    assert_close(rewards, t([[-0.0213061319, 0.3563436343]]))


def test_penalized_rewards_empty_row_raises():
    with pytest.raises(ValueError):
        penalized_rewards(t([1.0, 1.0]), torch.zeros(2, 2), torch.zeros(2, 2), t([[1, 0], [0, 0]]), 0.1)


# ---------------------------------------------------------------- GAE


def test_gae_hand_computed():
    gamma, lam = 0.9, 0.8  # gamma * lam = 0.72
    # Row 0 (3 real tokens): r = 0.5, -0.2, 1.0 ; V = 0.2, 0.4, 0.6
    #   t=2: delta = 1.0 + 0.9*0 - 0.6           = 0.4     A2 = 0.4
    #   t=1: delta = -0.2 + 0.9*0.6 - 0.4         = -0.06   A1 = -0.06 + 0.72*0.4   = 0.228
    #   t=0: delta = 0.5 + 0.9*0.4 - 0.2          = 0.66    A0 = 0.66 + 0.72*0.228  = 0.82416
    #   returns = A + V = 1.02416, 0.628, 1.0
    # Row 1 (2 real tokens, garbage in the padded slot): r = 0.0, 1.5 ; V = 0.3, -0.1
    #   t=1: terminal, next V = 0 (not the padded 7.0):
    #        delta = 1.5 + 0 - (-0.1)             = 1.6     A1 = 1.6
    #   t=0: delta = 0.0 + 0.9*(-0.1) - 0.3       = -0.39   A0 = -0.39 + 0.72*1.6   = 0.762
    #   returns = 0.762 + 0.3 = 1.062, 1.6 - 0.1 = 1.5, padding 0
    rewards = t([[0.5, -0.2, 1.0], [0.0, 1.5, 5.0]])
    values = t([[0.2, 0.4, 0.6], [0.3, -0.1, 7.0]])
    mask = t([[1, 1, 1], [1, 1, 0]])
    advantages, returns = compute_gae(rewards, values, mask, gamma, lam)
    assert_close(advantages, t([[0.82416, 0.228, 0.4], [0.762, 1.6, 0.0]]))
    assert_close(returns, t([[1.02416, 0.628, 1.0], [1.062, 1.5, 0.0]]))


def test_gae_gamma_lam_one_is_reward_to_go_minus_value():
    # With gamma = lam = 1 the advantage telescopes to (sum of future rewards) - V_t.
    # rewards 1, 2, 3 -> reward-to-go 6, 5, 3; V = 1, 1, 1 -> A = 5, 4, 2; returns = 6, 5, 3.
    advantages, returns = compute_gae(t([[1.0, 2.0, 3.0]]), t([[1.0, 1.0, 1.0]]), t([[1, 1, 1]]), 1.0, 1.0)
    assert_close(advantages, t([[5.0, 4.0, 2.0]]))
    assert_close(returns, t([[6.0, 5.0, 3.0]]))


# ---------------------------------------------------------------- policy loss

CLIP = 0.2


def _surrogate_inputs(ratios, advantages, mask):
    """old_logprobs = -1 everywhere; logprobs = old + log(ratio) (pads: huge garbage)."""
    old = torch.full((len(ratios), len(ratios[0])), -1.0)
    logp = old + t([[math.log(r) if r is not None else 500.0 for r in row] for row in ratios])
    return logp.requires_grad_(), old, t(advantages), t(mask)


@pytest.mark.parametrize(
    "ratio, advantage, expected_loss, clipped",
    [
        # A > 0, ratio above 1 + c: -1*1.5 = -1.5 vs -1*1.2 = -1.2 -> max -1.2, clipped.
        (1.5, 1.0, -1.2, True),
        # A > 0, ratio below 1 - c: -0.5 vs -0.8 -> max -0.5, unclipped.
        (0.5, 1.0, -0.5, False),
        # A < 0, ratio above 1 + c: 1.5 vs 1.2 -> max 1.5, unclipped.
        (1.5, -1.0, 1.5, False),
        # A < 0, ratio below 1 - c: 0.5 vs 0.8 -> max 0.8, clipped.
        (0.5, -1.0, 0.8, True),
        # Inside the trust region both terms are equal (-2*1.1 = -2.2): not clipped.
        (1.1, 2.0, -2.2, False),
        (0.9, -2.0, 1.8, False),
    ],
)
def test_surrogate_single_token_regimes(ratio, advantage, expected_loss, clipped):
    logp, old, adv, mask = _surrogate_inputs([[ratio]], [[advantage]], [[1]])
    loss, clip_fraction, approx_kl = clipped_surrogate_loss(logp, old, adv, mask, CLIP)
    assert_close(loss, torch.tensor(expected_loss))
    assert_close(clip_fraction, torch.tensor(1.0 if clipped else 0.0))
    assert_close(approx_kl, torch.tensor(0.5 * math.log(ratio) ** 2))
    # Where the clipped term wins the gradient is cut; else d/dlogp (-A*ratio) = -A*ratio.
    loss.backward()
    expected_grad = 0.0 if clipped else -advantage * ratio
    assert_close(logp.grad, t([[expected_grad]]))


def test_surrogate_batch_with_padding():
    # Row 0: (r=1.5, A=+1) clipped -1.2 ; (r=0.5, A=+1) -0.5 ; (r=1.1, A=+2) -2.2
    # Row 1: (r=1.5, A=-1) 1.5 ; (r=0.5, A=-1) clipped 0.8 ; padding (garbage, NaN advantage)
    # loss = (-1.2 - 0.5 - 2.2 + 1.5 + 0.8) / 5 = -1.6 / 5 = -0.32 ; clip fraction = 2/5.
    logp, old, adv, mask = _surrogate_inputs(
        [[1.5, 0.5, 1.1], [1.5, 0.5, None]],
        [[1.0, 1.0, 2.0], [-1.0, -1.0, NAN]],
        [[1, 1, 1], [1, 1, 0]],
    )
    loss, clip_fraction, approx_kl = clipped_surrogate_loss(logp, old, adv, mask, CLIP)
    assert_close(loss, torch.tensor(-0.32))
    assert_close(clip_fraction, torch.tensor(0.4))
    l15, l05, l11 = math.log(1.5), math.log(0.5), math.log(1.1)
    assert_close(approx_kl, torch.tensor(0.5 * (2 * l15**2 + 2 * l05**2 + l11**2) / 5))
    # Gradients: -A*ratio/5 where unclipped, 0 where clipped and on padding (and finite).
    #   row 0: 0, -0.5/5 = -0.1, -2.2/5 = -0.44 ; row 1: 1.5/5 = 0.3, 0, 0
    loss.backward()
    assert_close(logp.grad, t([[0.0, -0.1, -0.44], [0.3, 0.0, 0.0]]))


# ---------------------------------------------------------------- value loss


def test_value_loss_both_branches():
    # c = 0.2. Per real token (old, new, return) -> clipped value, errors, max:
    #   (1.0, 1.5, 2.0):  v_clip 1.2, (1.5-2)^2 = 0.25 vs (1.2-2)^2 = 0.64 -> 0.64 clipped
    #   (1.0, 1.5, 0.0):  v_clip 1.2, 2.25 vs 1.44 -> 2.25
    #   (1.0, 1.1, 3.0):  inside, v_clip 1.1, 3.61 vs 3.61 -> 3.61 (not clipped: equal)
    #   (0.0, -1.0, 0.5): v_clip -0.2, 2.25 vs 0.49 -> 2.25
    #   (0.0, -1.0, -2.0): v_clip -0.2, 1.0 vs 3.24 -> 3.24 clipped
    # loss = 0.5 * (0.64 + 2.25 + 3.61 + 2.25 + 3.24) / 5 = 0.5 * 11.99 / 5 = 1.199
    old = t([[1.0, 1.0, 1.0], [0.0, 0.0, 1e30]])
    values = t([[1.5, 1.5, 1.1], [-1.0, -1.0, NAN]]).requires_grad_()
    returns = t([[2.0, 0.0, 3.0], [0.5, -2.0, -1e30]])
    mask = t([[1, 1, 1], [1, 1, 0]])
    loss, clip_fraction = clipped_value_loss(values, old, returns, mask, 0.2)
    assert_close(loss, torch.tensor(1.199))
    assert_close(clip_fraction, torch.tensor(0.4))
    # Gradient 0.5 * 2 * (v - R) / 5 on unclipped tokens, 0 where the clipped error won:
    #   row 0: 0, 1.5/5 = 0.3, -1.9/5 = -0.38 ; row 1: -1.5/5 = -0.3, 0, 0 (padding)
    loss.backward()
    assert_close(values.grad, t([[0.0, 0.3, -0.38], [-0.3, 0.0, 0.0]]))


def test_value_loss_unclipped_only():
    # Small moves, no clipping: 0.5 * ((1.1-1.0)^2 + (0.0-0.3)^2) / 2 = 0.5 * 0.10 / 2 = 0.025
    loss, clip_fraction = clipped_value_loss(t([[1.1, 0.0]]), t([[1.0, 0.1]]), t([[1.0, 0.3]]), t([[1, 1]]), 0.2)
    assert_close(loss, torch.tensor(0.025))
    assert_close(clip_fraction, torch.tensor(0.0))


# ---------------------------------------------------------------- logits helpers


def test_entropy_uniform_is_log_v():
    V = 7
    logits = torch.full((2, 3, V), 3.7)
    assert_close(entropy_from_logits(logits, t([[1, 1, 1], [1, 0, 0]])), torch.tensor(math.log(V)))
    # Huge equal logits: a naive exp would overflow; logsumexp does not.
    assert_close(entropy_from_logits(torch.full((1, 1, V), 1e4), t([[1]])), torch.tensor(math.log(V)))


def test_entropy_masked_mean_of_hand_values():
    # Position 0: uniform over 2 -> ln 2 = 0.6931471806.
    # Position 1: logits (0, ln 3) -> p = (1/4, 3/4):
    #   H = -(0.25 ln 0.25 + 0.75 ln 0.75) = 0.3465735903 + 0.2157615543 = 0.5623351446
    # Position 2 is padding with a NaN logit. Mean = (0.6931471806 + 0.5623351446)/2 = 0.6277411626
    logits = t([[[0.0, 0.0], [0.0, math.log(3.0)], [NAN, 5.0]]])
    assert_close(entropy_from_logits(logits, t([[1, 1, 0]])), torch.tensor(0.6277411626))
    # Same distributions with +1e4 on every logit: the entropy is shift-invariant
    # and the implementation must not lose it to cancellation.
    big = torch.tensor([[[1e4, 1e4], [1e4, 1e4 + math.log(3.0)]]], dtype=torch.float64)
    assert_close(entropy_from_logits(big, t([[1, 1]])), torch.tensor(0.6277411626, dtype=torch.float64))


def test_logprobs_from_logits_gather():
    # logits (0, ln 2, ln 5): exp sums to 1 + 2 + 5 = 8 -> p = 1/8, 2/8, 5/8.
    row = [0.0, math.log(2.0), math.log(5.0)]
    logits = t([[row, row], [row, row]])
    tokens = torch.tensor([[2, 0], [1, 1]])
    expected = t([[math.log(5 / 8), math.log(1 / 8)], [math.log(2 / 8), math.log(2 / 8)]])
    assert_close(logprobs_from_logits(logits, tokens), expected)
    # Stability: +1000 on every logit (exp(1000) overflows even float64) changes
    # nothing. float64 here so the shifted inputs are themselves exact enough.
    shifted = torch.tensor([[row, [x + 1000.0 for x in row]]], dtype=torch.float64)
    out = logprobs_from_logits(shifted, torch.tensor([[2, 2]]))
    assert_close(out, torch.tensor([[math.log(5 / 8)] * 2], dtype=torch.float64))
    # Half-precision logits are upcast: the result is float32.
    out = logprobs_from_logits(logits.to(torch.bfloat16), tokens)
    assert out.dtype == torch.float32
