"""A trained reward model as a reward function (worker only).

Takes an RM run directory (its adapter and score head on the run's base model)
or a folder holding any sequence-classification model, and returns a function
with the reward-function signature that scores prompt + answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from engine.models.default_model import prepare_default_model
from engine.models.resolve import ModelError, resolve_model


def load_reward_model(location: str, device: str, batch_size: int = 8) -> Callable[..., list[float]]:
    """Load ``location`` and return ``reward_model(prompts, completions, **_) -> scores``."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = Path(location)
    adapter = path / "adapter" if (path / "adapter" / "adapter_config.json").is_file() else path
    if (adapter / "adapter_config.json").is_file():
        from engine.contract.runs import RunDir

        run = RunDir(adapter.parent) if adapter.name == "adapter" else None
        base_name = run.load_config().model.name if run and run.exists() else _adapter_base(adapter)
        source = resolve_model(base_name)
        base_path = source.path or prepare_default_model()
        tokenizer = AutoTokenizer.from_pretrained(adapter)
        base = AutoModelForSequenceClassification.from_pretrained(base_path, num_labels=1)
        base.config.pad_token_id = tokenizer.pad_token_id
        model = PeftModel.from_pretrained(base, adapter)
    elif (path / "config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    else:
        raise ModelError(f"Reward model {location!r} is neither an RM run directory, an adapter folder, nor a "
                         "model folder; point reward_model at the run directory of an RM run.")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    model.to(device).eval()

    from engine.rewards import completion_text

    def reward_model(prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
        texts = []
        for prompt, completion in zip(prompts, completions):
            answer = completion_text(completion)
            if isinstance(prompt, list) and tokenizer.chat_template:
                texts.append(tokenizer.apply_chat_template(prompt + [{"role": "assistant", "content": answer}],
                                                           tokenize=False))
            else:
                texts.append(f"{prompt}{answer}")
        scores: list[float] = []
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                encoded = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                                    truncation=True, add_special_tokens=False).to(device)
                scores += model(**encoded).logits[:, 0].float().tolist()
        return scores

    return reward_model


def _adapter_base(adapter: Path) -> str:
    import json

    base = json.loads((adapter / "adapter_config.json").read_text()).get("base_model_name_or_path")
    if not base:
        raise ModelError(f"Adapter {adapter} does not say which base model it belongs to.")
    return base
