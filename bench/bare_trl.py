"""A bare TRL script: the peer that rft's worker is measured against.

    python -m bench.bare_trl SETTINGS.json OUT.jsonl [--unsloth]

``--unsloth`` is the bare Unsloth script instead: the model comes from
``FastLanguageModel`` (imported first, as Unsloth wants) with its LoRA, and
the same TRL trainer trains it (``bench.gpu_check``, on a GPU).

Plain transformers + peft + trl, as a TRL user would write it, for SFT, DPO
or GRPO with LoRA. SETTINGS.json holds the model folder, the data file and
the hyper-parameters (see ``Settings``); OUT.jsonl gets one line per logged
step (wall time, step, TRL's logs as they are) from a ``TrainerCallback``,
plus ``phase`` lines (started, model loaded, trainer built, training ended).

Nothing here imports rft's engine except the built-in reward functions (pure
Python; a GRPO user supplies some reward function, and these are the ones the
rft run scores with). What the script sets beyond TRL's defaults, and why:

- ``set_seed(seed)`` before the model loads: PEFT draws the LoRA A matrices
  from the global generator when it wraps the model. Without it the losses
  part from rft's at step 3 (B starts at zero and the warm-up's first
  learning rate is zero, so step 3 is the first to see A);
- ``gradient_checkpointing = False``, ``bf16 = False``: TRL's configs turn
  checkpointing on by default and bf16 on where it can; rft runs a CPU in
  float32 without checkpointing;
- ``data_seed = seed``, as rft sets it (with TRL 1.16 leaving it out changed
  nothing: the sampler's generator is seeded from ``seed`` either way);
- the bench runs it with ``PYTHONHASHSEED=0``, as rft's launcher runs its
  worker (with PEFT 0.21 other hash seeds gave the same losses: it wraps the
  layers in the model's own order).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

STARTED = time.time()


@dataclass
class Settings:
    """One run's model, data and hyper-parameters (the bench fills them from an rft ``RunConfig``)."""

    method: str = "sft"  # sft | dpo | grpo
    model: str = ""
    data: str = ""  # a jsonl file: prompt/completion, prompt/chosen/rejected, or prompt (+ answer)
    system_prompt: str | None = None
    max_rows: int | None = None
    max_length: int = 256
    steps: int = 30
    batch_size: int = 4
    learning_rate: float = 2e-4
    scheduler: str = "linear"
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 42
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_targets: str | list[str] = "all-linear"
    completion_only_loss: bool = True  # SFT
    beta: float = 0.1  # DPO; GRPO's KL weight
    num_generations: int = 4  # GRPO
    max_completion_length: int = 64
    temperature: float = 1.0
    epsilon: float = 0.2
    grpo_loss_type: str = "dapo"
    scale_rewards: str = "group"
    rewards: list[dict] = field(default_factory=list)  # [{"name": "format", "weight": 1.0, "params": {}}]
    dtype: str = "float32"  # the weights' dtype; a GPU run uses bfloat16
    bf16: bool = False  # TRL's mixed precision (on a GPU)


def chat_rows(settings: Settings) -> list[dict]:
    """The data file's rows as TRL's conversational dicts (a system turn first when one is set)."""
    rows = [json.loads(line) for line in Path(settings.data).read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = rows[: settings.max_rows] if settings.max_rows else rows
    system = [{"role": "system", "content": settings.system_prompt}] if settings.system_prompt else []

    def turn(role: str, text: str) -> list[dict]:
        return [{"role": role, "content": text}]

    if settings.method == "sft":
        return [{"prompt": system + turn("user", r["prompt"]), "completion": turn("assistant", r["completion"])}
                for r in rows]
    if settings.method == "dpo":
        return [{"prompt": system + turn("user", r["prompt"]), "chosen": turn("assistant", r["chosen"]),
                 "rejected": turn("assistant", r["rejected"])} for r in rows]
    # GRPO: the other columns (the reference answer) reach the reward functions.
    return [{**{k: v for k, v in r.items() if k != "prompt"}, "prompt": system + turn("user", r["prompt"])}
            for r in rows]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    unsloth = "--unsloth" in argv
    argv = [a for a in argv if a != "--unsloth"]
    if len(argv) != 2:
        print("usage: python -m bench.bare_trl SETTINGS.json OUT.jsonl [--unsloth]", file=sys.stderr)
        return 2
    settings = Settings(**json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    out = open(argv[1], "a", encoding="utf-8")

    def record(**fields) -> None:
        out.write(json.dumps({"t": time.time(), **fields}) + "\n")
        out.flush()

    record(phase="started", at=STARTED)
    if unsloth:
        import unsloth  # noqa: F401  (before trl, transformers and peft, which it patches)
    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback, set_seed

    class StepLog(TrainerCallback):
        """Writes each logged step's wall time and TRL's logs."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            record(step=state.global_step, logs=logs or {})

    record(phase="imported")
    set_seed(settings.seed)
    if unsloth:
        model, tokenizer = unsloth_model(settings)
    else:
        tokenizer = AutoTokenizer.from_pretrained(settings.model)
        model = AutoModelForCausalLM.from_pretrained(settings.model, dtype=getattr(torch, settings.dtype))
        model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", r=settings.lora_r,
                                                 lora_alpha=settings.lora_alpha, lora_dropout=settings.lora_dropout,
                                                 target_modules=settings.lora_targets))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    record(phase="model loaded")
    dataset = Dataset.from_list(chat_rows(settings))
    common = dict(output_dir=str(Path(argv[1]).with_suffix(".out")), max_steps=settings.steps,
                  learning_rate=settings.learning_rate, per_device_train_batch_size=settings.batch_size,
                  lr_scheduler_type=settings.scheduler, warmup_steps=settings.warmup_steps,
                  weight_decay=settings.weight_decay, max_grad_norm=settings.max_grad_norm, seed=settings.seed,
                  data_seed=settings.seed, logging_steps=1, save_strategy="no", gradient_checkpointing=False,
                  bf16=settings.bf16, report_to="none", disable_tqdm=True)
    trainer = build_trainer(settings, model, tokenizer, dataset, common, [StepLog()])
    record(phase="trainer built")
    trainer.train()
    peak = torch.cuda.max_memory_reserved() / 2**30 if torch.cuda.is_available() else None
    record(phase="trained", memory_peak_reserved_gb=peak)
    return 0


def unsloth_model(settings: Settings):
    """The model and tokenizer as an Unsloth user loads them, with Unsloth's LoRA on every linear layer."""
    import torch
    from unsloth import FastLanguageModel

    model, tokenizer = FastLanguageModel.from_pretrained(model_name=settings.model, max_seq_length=settings.max_length,
                                                         dtype=getattr(torch, settings.dtype), load_in_4bit=False)
    targets = settings.lora_targets
    if targets == "all-linear":
        targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    model = FastLanguageModel.get_peft_model(model, r=settings.lora_r, lora_alpha=settings.lora_alpha,
                                             lora_dropout=settings.lora_dropout, target_modules=targets,
                                             use_gradient_checkpointing=False, random_state=settings.seed)
    return model, tokenizer


def build_trainer(settings: Settings, model, tokenizer, dataset, common: dict, callbacks: list):
    """TRL's trainer for ``settings.method``, configured from ``settings``."""
    if settings.method == "sft":
        from trl import SFTConfig, SFTTrainer

        args = SFTConfig(**common, max_length=settings.max_length, completion_only_loss=settings.completion_only_loss)
        return SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                          callbacks=callbacks)
    if settings.method == "dpo":
        from trl import DPOConfig, DPOTrainer

        args = DPOConfig(**common, beta=settings.beta, max_length=settings.max_length)
        return DPOTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                          callbacks=callbacks)
    from trl import GRPOConfig, GRPOTrainer

    from engine.rewards import make_reward

    funcs = [make_reward(r["name"], **r.get("params", {})) for r in settings.rewards]
    # TRL counts completions per device batch: prompts per step × group size.
    common["per_device_train_batch_size"] = settings.batch_size * settings.num_generations
    args = GRPOConfig(**common, num_generations=settings.num_generations,
                      max_completion_length=settings.max_completion_length, temperature=settings.temperature,
                      beta=settings.beta, epsilon=settings.epsilon, loss_type=settings.grpo_loss_type,
                      scale_rewards=settings.scale_rewards, steps_per_generation=1,
                      reward_weights=[r.get("weight", 1.0) for r in settings.rewards])
    return GRPOTrainer(model=model, reward_funcs=funcs, args=args, train_dataset=dataset, processing_class=tokenizer,
                       callbacks=callbacks)


def settings_json(settings: Settings) -> str:
    """``settings`` as the JSON file this script reads."""
    return json.dumps(asdict(settings), indent=2)


if __name__ == "__main__":
    sys.exit(main())
