"""The PPO loop: rollouts, scores, KL-penalised rewards, GAE, clipped updates.

One copy of the base weights: the policy is the LoRA adapter, the reference is
the same network under ``disable_adapter()``, and the value head is a linear
layer on the policy's last hidden state. The loop speaks the transformers
callback protocol (``TrainerState``/``TrainerControl``), so the same event
bridge that serves TRL's trainers reports it and obeys stop/save-now.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import TrainerControl, TrainerState, TrainingArguments, get_scheduler

from engine.training.trainers import ppo_math as pm
from engine.methods.ppo import Params
from engine.generation.rollout import RolloutBatch, generate_rollouts, sequence_forward
from engine.training.trainer_context import TrainerContext

RNG_FILE = "rng_state.pt"

VALUE_HEAD_FILE = "value_head.pt"


class ValueHead(nn.Module):
    """A scalar value per token from the policy's last hidden state."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.dropout = nn.Dropout(0.0)
        self.summary = nn.Linear(hidden_size, 1)
        nn.init.zeros_(self.summary.weight)  # start neutral: values 0, no early bias in GAE
        nn.init.zeros_(self.summary.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.summary(self.dropout(hidden)).squeeze(-1)


class PPOTrainer:
    """RLHF with PPO on a PEFT model; ``train()`` runs ``training.max_steps`` rollout steps."""

    def __init__(self, ctx: TrainerContext):
        self.ctx = ctx
        self.params: Params = ctx.config.method  # type: ignore[assignment]
        self.training = ctx.config.training
        self.model = ctx.model
        self.tokenizer = ctx.tokenizer
        self.device = torch.device(ctx.backend.device)
        hidden = self.model.config.hidden_size
        self.value_head = ValueHead(hidden).to(self.device, dtype=torch.float32)
        self.args = TrainingArguments(**ctx.training_arguments())
        self.state = TrainerState()
        self.state.max_steps = self.training.max_steps
        self.control = TrainerControl()
        trainable = [p for p in self.model.parameters() if p.requires_grad] + list(self.value_head.parameters())
        self.optimizer = torch.optim.AdamW(trainable, lr=self.training.learning_rate,
                                           weight_decay=self.training.weight_decay)
        self.scheduler = get_scheduler(self.training.lr_scheduler, self.optimizer,
                                       num_warmup_steps=self.training.warmup_steps,
                                       num_training_steps=self.training.max_steps)
        self.rng = random.Random(self.training.seed)
        self.rows = list(ctx.train_dataset)
        self._order: list[int] = []

    # -- data -----------------------------------------------------------------

    def _next_rows(self) -> list[dict[str, Any]]:
        batch = []
        while len(batch) < self.training.batch_size:
            if not self._order:
                self._order = list(range(len(self.rows)))
                self.rng.shuffle(self._order)
            batch.append(self.rows[self._order.pop()])
        return batch

    # -- one step -------------------------------------------------------------

    @torch.no_grad()
    def _rollout(self, rows: list[dict[str, Any]]) -> tuple[RolloutBatch, dict[str, Any]]:
        self.model.eval()
        batch = generate_rollouts(self.model, self.tokenizer, [r["prompt"] for r in rows], self.params.max_new_tokens,
                                  self.params.temperature, self.device)
        scores = self.ctx.score(rows, batch.completions)
        score = torch.tensor(scores["total"], dtype=torch.float32, device=self.device)
        if self.params.missing_eos_penalty is not None:
            score = score - self.params.missing_eos_penalty * (~batch.ended).float()
        logits, hidden = sequence_forward(self.model, batch)
        logprobs = pm.logprobs_from_logits(logits, batch.response_ids)
        values = self.value_head(hidden.float())
        with self.model.disable_adapter():
            ref_logits, _ = sequence_forward(self.model, batch)
        ref_logprobs = pm.logprobs_from_logits(ref_logits, batch.response_ids)
        mask = batch.response_mask
        rewards, kl = pm.penalized_rewards(score, logprobs, ref_logprobs, mask, self.params.kl_coef,
                                           self.params.kl_estimator)
        if self.params.whiten_rewards:
            rewards = pm.masked_whiten(rewards, mask, shift_mean=False)
        advantages, returns = pm.compute_gae(rewards, values, mask, self.params.gamma, self.params.lam)
        advantages = pm.masked_whiten(advantages, mask)
        batch.old_logprobs, batch.old_values = logprobs, values
        batch.advantages, batch.returns = advantages, returns
        stats = {"score": score, "kl": (kl * mask).sum(1), "scores": scores}
        return batch, stats

    def _update(self, batch: RolloutBatch) -> dict[str, float]:
        self.model.train()
        n = batch.response_ids.shape[0]
        per_mini = max(1, n // self.params.num_mini_batches)
        totals: dict[str, list[float]] = {k: [] for k in ("policy_loss", "value_loss", "entropy", "clip_fraction",
                                                          "value_clip_fraction", "approx_kl", "grad_norm", "loss")}
        trainable = [p for g in self.optimizer.param_groups for p in g["params"]]
        for _ in range(self.params.ppo_epochs):
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.rng.randrange(2**31)))
            for start in range(0, n, per_mini):
                idx = order[start:start + per_mini].to(self.device)
                mini = batch.select(idx)
                logits, hidden = sequence_forward(self.model, mini)
                logprobs = pm.logprobs_from_logits(logits, mini.response_ids)
                values = self.value_head(hidden.float())
                mask = mini.response_mask
                pg_loss, clip_frac, approx_kl = pm.clipped_surrogate_loss(logprobs, mini.old_logprobs,
                                                                          mini.advantages, mask, self.params.cliprange)
                vf_loss, vf_clip = pm.clipped_value_loss(values, mini.old_values, mini.returns, mask,
                                                         self.params.cliprange_value)
                entropy = pm.entropy_from_logits(logits, mask)
                loss = pg_loss + self.params.vf_coef * vf_loss - self.params.entropy_coef * entropy
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = torch.nn.utils.clip_grad_norm_(trainable, self.training.max_grad_norm)
                self.optimizer.step()
                for key, value in (("policy_loss", pg_loss), ("value_loss", vf_loss), ("entropy", entropy),
                                   ("clip_fraction", clip_frac), ("value_clip_fraction", vf_clip),
                                   ("approx_kl", approx_kl), ("grad_norm", grad_norm), ("loss", loss)):
                    totals[key].append(float(value))
        self.scheduler.step()
        return {k: sum(v) / len(v) for k, v in totals.items() if v}

    # -- the loop -------------------------------------------------------------

    def train(self, resume_from_checkpoint: str | None = None) -> None:
        torch.manual_seed(self.training.seed)
        if resume_from_checkpoint:
            self._load_checkpoint(Path(resume_from_checkpoint))
        callbacks = self.ctx.callbacks
        for cb in callbacks:
            cb.on_train_begin(self.args, self.state, self.control)
        while self.state.global_step < self.training.max_steps:
            for cb in callbacks:
                cb.on_step_begin(self.args, self.state, self.control)
            started = time.perf_counter()
            rows = self._next_rows()
            batch, stats = self._rollout(rows)
            generated = int(batch.response_mask.sum())
            update = self._update(batch)
            self.state.global_step += 1
            self.state.num_input_tokens_seen = (self.state.num_input_tokens_seen or 0) + generated
            self.ctx.emit_samples(self.state.global_step, rows, batch.completions, stats["scores"],
                                  pm.masked_mean(batch.advantages, batch.response_mask, dim=1).tolist())
            score = stats["score"]
            logs = {
                **update,
                "reward": float(score.mean()),
                "reward_std": float(score.std()) if len(score) > 1 else 0.0,
                "kl": float(stats["kl"].mean()),
                "learning_rate": self.scheduler.get_last_lr()[0],
                "completion_length": generated / len(rows),
                "tokens_per_s": generated / max(time.perf_counter() - started, 1e-9),
                **{f"rewards/{name}": _mean(values) for name, values in stats["scores"]["by_function"].items()},
            }
            for cb in callbacks:
                cb.on_step_end(self.args, self.state, self.control)
            for cb in callbacks:
                cb.on_log(self.args, self.state, self.control, logs=logs)
            if self.control.should_save:
                self.save_checkpoint()
                self.control.should_save = False
            if self.control.should_training_stop:
                break
        for cb in callbacks:
            cb.on_train_end(self.args, self.state, self.control)

    def save_extra(self, directory: Path) -> None:
        """Save the value head beside the final adapter (continuing PPO needs it)."""
        torch.save(self.value_head.state_dict(), Path(directory) / VALUE_HEAD_FILE)

    def save_checkpoint(self) -> Path:
        """Adapter, value head, optimizer and scheduler under ``checkpoints/checkpoint-N``."""
        path = Path(self.args.output_dir) / f"checkpoint-{self.state.global_step}"
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path)
        torch.save(self.value_head.state_dict(), path / VALUE_HEAD_FILE)
        torch.save(self.optimizer.state_dict(), path / "optimizer.pt")
        torch.save(self.scheduler.state_dict(), path / "scheduler.pt")
        # What makes a resumed run continue exactly: the generators and where the data order stands.
        torch.save({"python": self.rng.getstate(), "order": list(self._order), "torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
                   path / RNG_FILE)
        (path / "trainer_state.json").write_text(json.dumps({"global_step": self.state.global_step}))
        for cb in self.ctx.callbacks:
            cb.on_save(self.args, self.state, self.control)
        return path

    def _load_checkpoint(self, path: Path) -> None:
        """Continue from ``save_checkpoint``'s folder: weights, optimiser, schedule, generators, data order."""
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        set_peft_model_state_dict(self.model, load_file(str(path / "adapter_model.safetensors")))
        self.value_head.load_state_dict(torch.load(path / VALUE_HEAD_FILE, map_location=self.device))
        self.optimizer.load_state_dict(torch.load(path / "optimizer.pt", map_location=self.device))
        self.scheduler.load_state_dict(torch.load(path / "scheduler.pt"))
        self.state.global_step = json.loads((path / "trainer_state.json").read_text())["global_step"]
        rng = torch.load(path / RNG_FILE, weights_only=False)
        self.rng.setstate(rng["python"])
        self._order = list(rng["order"])
        torch.set_rng_state(rng["torch"])
        if rng.get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])


def _mean(values: list[float | None]) -> float:
    real = [v for v in values if v is not None]
    return sum(real) / len(real) if real else float("nan")
