"""Load a base model with a trainable LoRA adapter on the chosen backend, or, for full fine-tuning, with every
weight trainable; and load a run's result to answer with (worker only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.contract.config import LoraConfig, ModelConfig
from engine.models.backend import Backend
from engine.models.resolve import ModelError

# What 'all-linear' means for Unsloth, which wants module names.
_LLAMA_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def load_tokenizer(path: Path, model_cfg: ModelConfig | None = None) -> Any:
    """The model's tokenizer, with a pad token (EOS when it has none) and, given ``model_cfg``, the setup's
    chat template and end-of-turn token (``engine.models.chat_setup``)."""
    from transformers import AutoTokenizer

    from engine.models.chat_setup import apply_chat_format

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if model_cfg is not None:
        apply_chat_format(tokenizer, model_cfg)
    return tokenizer


def load_trained(model_cfg: ModelConfig, folder: Path, dtype: Any, device: str, progress: Any = None,
                 with_base: bool = True) -> tuple[Any, Any, Path, str]:
    """A run's trained result, for answering (eval mode): its base model with the adapter in ``folder`` on top,
    or the whole model in ``folder`` (``lora.enabled = false``), then beside its base model (``BaseAndTuned``)
    unless ``with_base`` is false. Either way ``disable_adapter()`` answers as the base model.

    Returns ``(model, tokenizer, base_path, base_title)``; the tokenizer is the one saved with the result when
    there is one (it may carry a fixed end-of-turn token), else the base model's.
    """
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from engine.contract.runs import is_whole_model
    from engine.models.chat_setup import stop_on_end_of_turn
    from engine.models.default_model import prepare_default_model
    from engine.models.resolve import resolve_model
    from engine.models.whole_model import BaseAndTuned

    source = resolve_model(model_cfg.name, model_cfg.revision)
    whole = is_whole_model(folder)
    base_path = source.path or prepare_default_model(progress=progress)
    if (folder / "tokenizer_config.json").is_file():
        # The result's tokenizer was saved with the run's template and thinking already set: it is read as it
        # is, so a .jinja file moved since the run does not matter.
        tokenizer = load_tokenizer(folder, model_cfg.model_copy(update={"chat_template": "auto",
                                                                        "enable_thinking": None}))
    else:
        tokenizer = load_tokenizer(base_path, model_cfg)

    def answering(path: Path) -> Any:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
        stop_on_end_of_turn(model, tokenizer)
        return model

    if whole:
        tuned = answering(folder).to(device).eval()
        model = BaseAndTuned(tuned, answering(base_path).to(device).eval()) if with_base else tuned
    else:
        model = PeftModel.from_pretrained(answering(base_path), folder).to(device).eval()
    return model, tokenizer, Path(base_path), source.title


def load_model(path: Path, backend: Backend, model_cfg: ModelConfig, lora: LoraConfig, seed: int,
               kind: str = "causal_lm", start_adapter: Path | None = None,
               gradient_checkpointing: bool = False) -> tuple[Any, Any]:
    """Return ``(peft_model, tokenizer)`` ready for a trainer; with ``lora.enabled = false`` the model itself,
    every weight trainable.

    ``kind`` is 'causal_lm' or 'sequence_classification' (a reward model: one
    score output, trained in full beside the adapter). ``start_adapter``
    continues training an earlier run's adapter instead of a fresh one.
    ``gradient_checkpointing`` matters to Unsloth, which sets its own up at
    load; the transformers trainers turn it on from their arguments.
    """
    from engine.models.chat_setup import apply_chat_format, stop_on_end_of_turn

    if backend.name == "unsloth" and kind == "causal_lm" and start_adapter is None:
        model, tokenizer = _load_unsloth(path, backend, model_cfg, lora, seed, gradient_checkpointing)
        apply_chat_format(tokenizer, model_cfg)
    else:
        model, tokenizer = _load_transformers(path, backend, model_cfg, lora, seed, kind, start_adapter)
    stop_on_end_of_turn(model, tokenizer)
    return model, tokenizer


def _load_transformers(path: Path, backend: Backend, model_cfg: ModelConfig, lora: LoraConfig, seed: int,
                       kind: str = "causal_lm", start_adapter: Path | None = None) -> tuple[Any, Any]:
    import torch
    from peft import LoraConfig as PeftLoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, set_seed

    # The new weights (LoRA A matrices, a reward model's score head) are drawn here, before any
    # trainer seeds the generators: without this the same seed gave a different run every time.
    set_seed(seed)

    # Full fine-tuning keeps float32 master weights (the trainer computes in 16 bits under autocast on a GPU):
    # updates of a small learning rate vanish in bfloat16's 8-bit mantissa.
    kwargs: dict[str, Any] = {"dtype": getattr(torch, backend.dtype if lora.enabled else "float32")}
    if backend.load_in_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=getattr(torch, backend.dtype),
            bnb_4bit_use_double_quant=True,
        )
        # This process's own GPU: under DDP each rank joined with its LOCAL_RANK's device set
        # (engine.training.ranks), and every rank on GPU 0 would put the whole job on one card.
        kwargs["device_map"] = {"": torch.cuda.current_device()}
    tokenizer = load_tokenizer(start_adapter or path, model_cfg)
    try:
        if kind == "sequence_classification":
            model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, **kwargs)
            model.config.pad_token_id = tokenizer.pad_token_id
        else:
            model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except (OSError, ValueError) as error:
        raise ModelError(f"Could not load the model in {path}: {error}") from None
    if backend.load_in_4bit:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    elif backend.device != "cpu":
        model.to(backend.device)
    if start_adapter is not None:
        return PeftModel.from_pretrained(model, start_adapter, is_trainable=True), tokenizer
    if not lora.enabled:  # full fine-tuning: every weight trains (RunConfig.problems keeps it to SFT and ORPO)
        model.requires_grad_(True)
        return model, tokenizer
    config = PeftLoraConfig(
        # SEQ_CLS makes PEFT train the new score head in full beside the adapter.
        task_type="SEQ_CLS" if kind == "sequence_classification" else "CAUSAL_LM",
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        use_dora=lora.use_dora,
        use_rslora=lora.use_rslora,
    )
    try:
        peft_model = get_peft_model(model, config)
    except ValueError as error:
        raise ModelError(f"LoRA cannot be applied to this model ({error}); set lora.target_modules to its linear layers.") from None
    return peft_model, tokenizer


def _load_unsloth(path: Path, backend: Backend, model_cfg: ModelConfig, lora: LoraConfig, seed: int,
                  gradient_checkpointing: bool) -> tuple[Any, Any]:
    import torch
    from unsloth import FastLanguageModel

    model, tokenizer = FastLanguageModel.from_pretrained(
        model_name=str(path),
        max_seq_length=model_cfg.max_seq_length,
        dtype=getattr(torch, backend.dtype),
        load_in_4bit=backend.load_in_4bit,
        # Each rank of a DDP job loads onto its own GPU (the one its LOCAL_RANK set), not Unsloth's default.
        device_map={"": torch.cuda.current_device()},
    )
    targets = _LLAMA_LINEAR if lora.target_modules == "all-linear" else lora.target_modules
    model = FastLanguageModel.get_peft_model(
        model,
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=targets,
        use_rslora=lora.use_rslora,
        # Unsloth's own checkpointing (activations offloaded) when memory asks for it; off, no recompute.
        use_gradient_checkpointing="unsloth" if gradient_checkpointing else False,
        random_state=seed,
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def count_parameters(model: Any) -> tuple[int, int]:
    """``(all, trainable)`` parameter counts."""
    total = trainable = 0
    for parameter in model.parameters():
        total += parameter.numel()
        if parameter.requires_grad:
            trainable += parameter.numel()
    return total, trainable
