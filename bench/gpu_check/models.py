"""The models the GPU check trains: random weights in the shapes of real ones, with a tokenizer that travels.

Weights cannot travel to the GPU machine (the built-in model's file alone is 98 MB) and speed and memory do
not depend on their values, so each model is built there from its published shape, random-initialised. The
vocabulary is the travelling tokenizer's (the built-in SmolLM2's, 49,152 tokens, with its ChatML template),
not the original model's: a Qwen2.5-0.5B shape here has a 44 M-parameter embedding rather than 136 M, which
the record says beside every number.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# Published shapes (config.json of each model), less the vocabulary.
SHAPES: dict[str, dict] = {
    "tiny": {"arch": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "tie_word_embeddings": True},
    "qwen2.5-0.5b": {"arch": "qwen2", "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
                     "num_attention_heads": 14, "num_key_value_heads": 2, "tie_word_embeddings": True},
    "llama-3.2-1b": {"arch": "llama", "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
                     "num_attention_heads": 32, "num_key_value_heads": 8, "tie_word_embeddings": True},
}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")


def copy_tokenizer(source: Path, target: Path) -> Path:
    """The tokenizer files of the model folder ``source``, alone in ``target`` (what travels)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, target / name)
    return target


def build_model(shape: str, tokenizer_dir: Path, target: Path, dtype: str = "bfloat16") -> Path:
    """A random model of ``shape`` with the tokenizer in ``tokenizer_dir``, saved to ``target`` (a model
    folder rft and TRL load). Built on the GPU when there is one: initialising a billion weights on the CPU
    takes a minute."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, Qwen2Config

    if (target / "config.json").is_file():
        return target
    spec = dict(SHAPES[shape])
    arch = spec.pop("arch")
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = (Qwen2Config if arch == "qwen2" else LlamaConfig)(
        vocab_size=len(tokenizer), max_position_embeddings=4096, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **spec)
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    del model
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return target
