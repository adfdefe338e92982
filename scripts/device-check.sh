#!/usr/bin/env bash
# On the GPU machine: install the kit that scripts/device-kit.sh built (.gpu-kit/, carried there) into a
# target folder, then run the GPU check, which writes its record into docs/ (copied to $OUT when set, so it
# comes back). Arguments go to python -m bench.gpu_check.
#
#   bash scripts/device-check.sh [--budget 480] [--only part,part]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
SITE=.gpu-kit/site
if [ ! -d "$SITE" ]; then
    "$PY" -m pip install --quiet --no-index --no-deps --target "$SITE" .gpu-kit/wheels/*.whl
fi
export PYTHONPATH="$PWD/$SITE:$PWD" HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 TOKENIZERS_PARALLELISM=false
status=0
"$PY" -m bench.gpu_check "$@" || status=$?
if [ -n "${OUT:-}" ]; then
    cp docs/*-gpu-check*.md docs/*-gpu-check*.json "$OUT"/ 2>/dev/null || true
fi
exit "$status"
