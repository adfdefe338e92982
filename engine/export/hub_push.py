"""Upload a checked export folder to the Hugging Face Hub: ``rft export … --push-to-hub ORG/NAME``.

The folder goes up as it is (adapter, merged model, or GGUF with its
Modelfile and model card), in one commit, with ``huggingface_hub``; pushing
again to the same repo updates it (files that did not change are not sent
twice). The token is ``huggingface_hub``'s own: ``HF_TOKEN`` or the login
cache of ``hf auth login``. rft reads it from nowhere else and writes it
nowhere; it travels only in the requests' Authorization header. The Hub's
refusals (no network, 401, 403, 404) become ``PushError`` messages that say
what to do.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engine.contract.errors import ExplainedError
from engine.contract.hub_repo import repo_id_problem

TOKEN_HELP = "set HF_TOKEN to a write token (https://huggingface.co/settings/tokens) or run `hf auth login`"


class PushError(ExplainedError, RuntimeError):
    """The push did not happen; the message says why and what to do. Nothing local changed."""


@dataclass
class PushResult:
    """Where the export went on the Hub."""

    repo_id: str
    url: str
    commit: str | None
    private: bool
    files: int
    size_bytes: int


def push_folder(folder: Path, repo_id: str, private: bool = False, log: Callable[[str], None] = print,
                on_bytes: Callable[[int, int], None] | None = None) -> PushResult:
    """Create ``repo_id`` if it does not exist (``private`` then) and commit ``folder``'s files to it.
    ``on_bytes(sent, total)`` follows the upload."""
    problem = repo_id_problem(repo_id)
    if problem:
        raise PushError(f"--push-to-hub {repo_id!r}: {problem}")
    if not folder.is_dir():
        raise PushError(f"{folder} is not an export folder; export first, then push")
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        raise PushError("HF_HUB_OFFLINE is set, so nothing may reach the Hub; unset it (or set it to 0) to push")
    from huggingface_hub import HfApi, get_token

    if not get_token():
        raise PushError(f"no Hugging Face token was found: {TOKEN_HELP}")
    files = [p for p in folder.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    api = HfApi()
    try:
        log(f"creating {repo_id} on {api.endpoint} (if it is new){' as a private repo' if private else ''}…")
        url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        log(f"uploading {len(files)} files ({size / 1e6:.1f} MB) to {repo_id}…")
        with _byte_progress(on_bytes, size):
            info = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model",
                                     commit_message=f"Upload {folder.name} from rft")
    except Exception as error:
        raise PushError(_in_words(error, repo_id, api.endpoint)) from None
    return PushResult(repo_id=repo_id, url=str(url), commit=getattr(info, "oid", None), private=private,
                      files=len(files), size_bytes=size)


def _in_words(error: Exception, repo_id: str, endpoint: str) -> str:
    """A Hub failure as what happened and what to do."""
    from huggingface_hub.errors import HfHubHTTPError

    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, HfHubHTTPError) and status is not None:
        if status == 401:
            return f"the Hub refused the token (401 Unauthorized): it is wrong or has expired; {TOKEN_HELP}"
        if status == 403:
            return (f"the token may not write to {repo_id} (403 Forbidden): give it write access to "
                    f"{repo_id.split('/')[0]}, or push to your own user name")
        if status == 404:
            return (f"{repo_id} was not found (404): the user or organisation {repo_id.split('/')[0]!r} does not "
                    "exist, or the token cannot see it")
        return f"the Hub answered {status}: {str(error).splitlines()[0]}"
    name = type(error).__name__
    if "Connect" in name or "Timeout" in name or isinstance(error, OSError):
        return f"could not reach {endpoint} ({name}: {error}); check the network and push again"
    return f"the push failed: {name}: {error}"


class _byte_progress:
    """Reports the bytes ``huggingface_hub``'s own upload bars count (LFS and Xet uploads both count them),
    every half second, while the block runs."""

    def __init__(self, on_bytes: Callable[[int, int], None] | None, total: int):
        self.on_bytes, self.total = on_bytes, total
        self.sent = 0
        self._lock = threading.Lock()
        self._last = 0.0

    def __enter__(self) -> "_byte_progress":
        if self.on_bytes is None:
            return self
        from huggingface_hub.utils import tqdm as hub_tqdm

        self._class, self._update = hub_tqdm, hub_tqdm.update
        progress = self

        def update(bar, n=1):  # the upload bars count bytes (unit "B"); the others count files
            if getattr(bar, "unit", "") == "B" and n:
                progress._add(int(n))
            return progress._update(bar, n)

        hub_tqdm.update = update
        return self

    def _add(self, n: int) -> None:
        with self._lock:
            self.sent = min(self.total, self.sent + n)
            now = time.monotonic()
            if now - self._last < 0.5:
                return
            self._last = now
        self.on_bytes(self.sent, self.total)

    def __exit__(self, *exc: object) -> None:
        if self.on_bytes is None:
            return
        self._class.update = self._update
        if exc[0] is None:
            self.on_bytes(self.total, self.total)
