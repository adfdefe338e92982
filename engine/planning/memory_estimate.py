"""A pre-flight estimate of the memory a run needs, from the model's config.json (no torch).

It is an estimate, meant to warn before an hour is spent loading a model
that cannot train: an upper bound at the longest rows (``model.max_seq_length``),
not a measurement. The setup screen compares it with the GPU's free memory
before a run starts, and the worker again before it loads the model.

The formula, with h = hidden size, L = layers, i = intermediate size,
V = vocabulary, k = key/value width (h × kv heads / heads), r = LoRA rank:

- base parameters P = L·(2h² + 2hk + 3hi·experts + 2h) + V·h·(1 if tied else 2);
- **weights**: P × bytes per weight (4 for float32, 2 for 16-bit, about 0.55
  in 4 bits, where the embeddings stay 16-bit);
- **adapter and optimiser**: LoRA parameters r·(in + out) summed over the
  targeted linear layers (all seven of a Llama-style block for 'all-linear'),
  plus a value head for PPO, at 16 bytes each (float32 weight, gradient and
  AdamW's two moments);
- **full fine-tuning** (``lora.enabled = false``): every parameter trains, so
  the weights are float32 (4 bytes; the trainer computes in 16 bits under
  autocast on a GPU) and gradients and AdamW's moments add 12 bytes each;
- **activations**: tokens per micro-batch × L × 34·h bytes at 16-bit (Korthikanti
  et al. 2022, without the attention-score term: SDPA keeps no score matrix),
  doubled for float32; with gradient checkpointing only each layer's input
  (h values a token) plus one whole layer;
- **logits**: tokens whose next token is scored × V × 4 bytes × 2 (float32
  logits and their log-softmax or gradient); a reward model has a score head
  instead; a reference pass (DPO, KTO, PPO, GRPO with beta > 0) adds one more
  copy: the reference is the same weights with the adapter off, so it adds no
  weights;
- **generation** (GRPO, PPO): the key/value cache of all answers of a step,
  counted against the training terms it does not overlap (the larger wins);
- **reward model** (PPO with ``method.reward_model``, RM+PPO): a second copy
  of the base weights;
- **sharding** (``[distributed]``): ZeRO-2 divides the gradients and optimiser
  state by the number of processes, ZeRO-3 and FSDP2 the weights too; DDP
  divides nothing;
- **overhead**: 0.75 GiB for the CUDA context and 10 % for the allocator.

Tokens per micro-batch: ``batch_size`` sequences of ``max_seq_length``; two
per example for preference methods (chosen and rejected) and KTO (the answer
and a mismatched one for its KL term); ``batch_size × num_generations`` for
GRPO, ``batch_size`` rollouts for PPO (its update sees
``batch_size / num_mini_batches`` of them at a time).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.contract.config import RunConfig
from engine.contract.job_command import visible_gpu_count
from engine.contract.recent_models import is_local_folder_name
from engine.models.hub_cache import snapshot_dir
from engine.models.resolve import BUILTIN_CONFIG, DEFAULT_MODEL_TITLE, default_model_dir

GIB = 2**30
ACTIVATION_BYTES_PER_HIDDEN_16BIT = 34  # per token, per layer, per hidden unit (Korthikanti et al.)
OPTIMIZER_BYTES_PER_TRAINABLE = 16  # fp32 weight + gradient + AdamW exp_avg + exp_avg_sq
CONTEXT_OVERHEAD = 0.75 * GIB
ALLOCATOR_SLACK = 0.10


@dataclass(frozen=True)
class ModelShape:
    """The sizes of a decoder-only transformer that memory depends on."""

    hidden: int
    layers: int
    intermediate: int
    vocab: int
    heads: int
    kv_heads: int
    tied: bool = False
    experts: int = 1
    head_dim: int | None = None

    @classmethod
    def from_config(cls, data: dict[str, Any]) -> "ModelShape | None":
        """From a config.json's fields (Llama, Qwen, Mistral, GPT-2 names), or None if it lacks them."""
        data = data.get("text_config") or data  # multimodal configs nest the language model's

        def pick(*names: str) -> Any:
            return next((data[n] for n in names if isinstance(data.get(n), int)), None)

        hidden, layers, vocab = pick("hidden_size", "n_embd", "d_model"), pick("num_hidden_layers", "n_layer",
                                                                               "num_layers"), pick("vocab_size")
        if not (hidden and layers and vocab):
            return None
        heads = pick("num_attention_heads", "n_head") or 1
        return cls(hidden=hidden, layers=layers, vocab=vocab, heads=heads,
                   intermediate=pick("intermediate_size", "n_inner", "ffn_dim") or 4 * hidden,
                   kv_heads=pick("num_key_value_heads") or heads, tied=bool(data.get("tie_word_embeddings", False)),
                   experts=pick("num_local_experts", "num_experts") or 1, head_dim=pick("head_dim"))

    @property
    def kv_width(self) -> int:
        return (self.head_dim or self.hidden // self.heads) * self.kv_heads

    def linear_layers(self) -> dict[str, tuple[int, int, int]]:
        """Each block's linear layers: (in features, out features, copies per block)."""
        h, k, i, e = self.hidden, self.kv_width, self.intermediate, self.experts
        q = (self.head_dim or h // self.heads) * self.heads
        return {"q_proj": (h, q, 1), "k_proj": (h, k, 1), "v_proj": (h, k, 1), "o_proj": (q, h, 1),
                "gate_proj": (h, i, e), "up_proj": (h, i, e), "down_proj": (i, h, e)}

    def parameters(self) -> int:
        block = sum(a * b * n for a, b, n in self.linear_layers().values()) + 2 * self.hidden
        return self.layers * block + self.vocab * self.hidden * (1 if self.tied else 2) + self.hidden

    def lora_parameters(self, r: int, targets: list[str] | str) -> int:
        layers = self.linear_layers()
        names = list(layers) if targets == "all-linear" else list(targets)
        # A module name this table does not know is counted as a square h × h layer.
        per_block = sum(r * (a + b) * n for a, b, n in (layers.get(name, (self.hidden, self.hidden, 1))
                                                       for name in names))
        return self.layers * per_block


@dataclass
class MemoryEstimate:
    """Bytes per part and in total; ``describe`` says it in GiB."""

    parts: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    def describe(self) -> str:
        big = sorted(((v, k) for k, v in self.parts.items() if v >= 0.05 * GIB), reverse=True)[:3]
        return f"~{self.total / GIB:.1f} GiB (" + ", ".join(f"{k} {v / GIB:.1f}" for v, k in big) + ")"


def _weight_bytes(dtype: str, device: str) -> float:
    if dtype == "float32" or (dtype == "auto" and device != "cuda"):
        return 4.0
    return 2.0


def _tokens(config: RunConfig) -> tuple[int, int, int]:
    """(sequences with gradients, of them scored against the vocabulary per sequence, generated sequences)."""
    name, t, m, length = config.method_name, config.training, config.method, config.model.max_seq_length
    if name == "grpo":
        return t.batch_size * m.num_generations, m.max_completion_length, t.batch_size * m.num_generations
    if name in {"ppo", "rm_ppo"}:
        return max(1, t.batch_size // m.num_mini_batches), length, t.batch_size
    if name in {"dpo", "orpo", "kto", "rm"}:
        return 2 * t.batch_size, length, 0
    return t.batch_size, length, 0


def estimate(config: RunConfig, shape: ModelShape, device: str = "cuda", dtype: str | None = None,
             load_in_4bit: bool | None = None, world_size: int = 1) -> MemoryEstimate:
    """The memory ``config`` needs on ``shape``, per GPU of a job of ``world_size`` processes (see the module
    docstring for the formula)."""
    name, length = config.method_name, config.model.max_seq_length
    dtype = dtype or config.model.dtype
    four_bit = config.model.load_in_4bit if load_in_4bit is None else load_in_4bit
    four_bit = four_bit and device == "cuda"
    act = _weight_bytes(dtype, device)
    embeddings = shape.vocab * shape.hidden * (1 if shape.tied else 2)
    params = shape.parameters()
    weights = (params - embeddings) * 0.55 + embeddings * 2.0 if four_bit else params * act
    trainable = shape.lora_parameters(config.lora.r, config.lora.target_modules)
    full = not config.lora.enabled
    if name in {"ppo", "rm_ppo", "rm"}:
        trainable += shape.hidden + 1  # PPO's value head, a reward model's score head
    sequences, scored, generated = _tokens(config)
    tokens = sequences * length
    per_layer = ACTIVATION_BYTES_PER_HIDDEN_16BIT * shape.hidden * act / 2
    if config.training.gradient_checkpointing:
        activations = tokens * (shape.layers * shape.hidden * act + per_layer)
    else:
        activations = tokens * shape.layers * per_layer
    logits = 0.0 if name == "rm" else sequences * scored * shape.vocab * 4.0 * 2
    reference = name in {"dpo", "kto", "ppo", "rm_ppo"} or (name == "grpo" and config.method.beta > 0)
    if reference:
        logits += sequences * scored * shape.vocab * 4.0
    cache = generated * length * shape.layers * 2 * shape.kv_width * act
    if full:
        parts = {"weights": params * 4.0, "gradients+optimizer": params * (OPTIMIZER_BYTES_PER_TRAINABLE - 4.0)}
    else:
        parts = {"weights": weights, "adapter+optimizer": trainable * OPTIMIZER_BYTES_PER_TRAINABLE}
    # Generation runs without gradients, before the update: the larger of the two phases counts.
    if cache > activations + logits:
        parts["generation"] = cache
    else:
        parts["activations"], parts["logits"] = activations, logits
    if name == "rm_ppo" or getattr(config.method, "reward_model", None):
        parts["reward model"] = params * (2.0 if act == 2.0 else 4.0)
    _share(parts, config.distributed.strategy, world_size)
    if device == "cuda":
        parts["overhead"] = CONTEXT_OVERHEAD + ALLOCATOR_SLACK * sum(parts.values())
    return MemoryEstimate(parts)


def _share(parts: dict[str, float], strategy: str, world_size: int) -> None:
    """One GPU's share of a sharded job: ZeRO-2 splits gradients and optimiser state across the processes,
    ZeRO-3 and FSDP2 the weights too; DDP splits nothing (each GPU holds it all), nor activations anything."""
    if world_size < 2 or strategy == "ddp":
        return
    split = ["adapter+optimizer", "gradients+optimizer"]
    if strategy in {"zero3", "fsdp2"}:
        split += ["weights", "reward model"]
    for name in split:
        if name in parts:
            parts[name] /= world_size


def model_config_json(name: str, revision: str | None = None) -> dict[str, Any] | None:
    """A model's config.json without loading it or touching the network: the built-in model, a local
    folder, or a Hugging Face id already in the local cache. None when it is not to be found."""
    if name in {"default", DEFAULT_MODEL_TITLE}:
        candidates = [default_model_dir() / "config.json"]
    elif is_local_folder_name(name):
        candidates = [Path(name).expanduser() / "config.json"]
    else:
        snapshot = snapshot_dir(name, revision)
        candidates = [snapshot / "config.json"] if snapshot else []
    for path in candidates:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return BUILTIN_CONFIG if name in {"default", DEFAULT_MODEL_TITLE} else None


def preflight_warning(config: RunConfig, free_bytes: float | None, shape: ModelShape | None = None,
                      device: str = "cuda", dtype: str | None = None,
                      load_in_4bit: bool | None = None) -> str | None:
    """A sentence when ``config`` will likely not fit in ``free_bytes``; None when it fits or is unknown."""
    if free_bytes is None:
        return None
    if shape is None:
        data = model_config_json(config.model.name, config.model.revision)
        shape = ModelShape.from_config(data) if data else None
    if shape is None:
        return None
    world = config.distributed.world_size(visible_gpu_count()) if config.distributed.sharded else 1
    needed = estimate(config, shape, device, dtype, load_in_4bit, world)
    if needed.total <= free_bytes:
        return None
    hints = "lower training.batch_size (gradient accumulation keeps the effective batch) or model.max_seq_length"
    if device == "cuda" and not (config.model.load_in_4bit if load_in_4bit is None else load_in_4bit):
        hints += ", or set model.load_in_4bit = true"
    if config.distributed.several and config.distributed.strategy in {"ddp", "zero2"}:
        hints += ", or split the weights across the GPUs with distributed.strategy = 'fsdp2' or 'zero3'"
    where = "on the GPU" if device == "cuda" else "in memory"
    share = f" per GPU, {config.distributed.strategy} splitting it across {world}," if world > 1 else ""
    return (f"may not fit in memory: the estimate is {needed.describe()}{share} at {config.model.max_seq_length}-token "
            f"rows, and {free_bytes / GIB:.1f} GiB is free {where}; {hints}. If it runs out, rft makes the "
            "micro-batch smaller and resumes on its own.")


def gpu_warning(config: RunConfig) -> str | None:
    """The setup screen's check: ``preflight_warning`` against the free memory ``nvidia-smi`` reports
    (none without a GPU). It never raises: a verdict line must not break on an odd config."""
    from engine.planning import device_memory

    try:
        return preflight_warning(config, device_memory.gpu_free_bytes())
    except Exception:  # an estimate is a courtesy; the worker checks again with the real model
        return None
