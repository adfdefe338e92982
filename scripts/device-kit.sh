#!/usr/bin/env bash
# Build the kit the GPU check needs on the device machine, in .gpu-kit/ (git-ignored; it travels as a carried
# path): the wheels the device lacks (scripts/device-wheels.txt) for Python 3.12 on manylinux x86-64, slimmed
# (scripts/slim_wheels.py), and the built-in model's tokenizer (weights cannot travel; bench.gpu_check builds
# random models there). Then it checks what can be checked here: the wheels install with pip --no-index
# --no-deps into an empty target, their pure-Python parts import under Python 3.12, and the working tree plus
# the kit stays under 60 MiB (the device takes 64 MiB in all).
#
#   bash scripts/device-kit.sh
#
# On the device:  bash scripts/device-check.sh   (installs the kit, runs python -m bench.gpu_check)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
KIT=.gpu-kit
LIMIT_MIB=60

rm -rf "$KIT"
mkdir -p "$KIT/wheels"
echo "downloading the wheels (Python 3.12, manylinux x86-64)..."
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --abi cp312 --abi abi3 --abi none --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d "$KIT/wheels" -r scripts/device-wheels.txt 2>&1 | grep -v "^WARNING: Location" || true
wanted=$(grep -cvE '^\s*(#|$)' scripts/device-wheels.txt)
got=$(ls "$KIT"/wheels/*.whl | wc -l)
[ "$got" -eq "$wanted" ] || { echo "error: $got wheels for $wanted lines of scripts/device-wheels.txt" >&2; exit 1; }
"$PY" scripts/slim_wheels.py "$KIT/wheels"

echo "the built-in model's tokenizer..."
"$PY" - "$KIT/tokenizer" <<'PYEOF'
import sys
from pathlib import Path
from bench.gpu_check.models import copy_tokenizer
from engine.models.default_model import prepare_default_model
print(copy_tokenizer(prepare_default_model(), Path(sys.argv[1])))
PYEOF

py312=""
for candidate in python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12; do
    if "$candidate" -c "" 2>/dev/null; then py312=$candidate; break; fi
done
[ -n "$py312" ] || { echo "error: no Python 3.12 here to check the install with" >&2; exit 1; }
echo "installing into an empty target with $py312..."
check=$(mktemp -d)
trap 'rm -rf "$check"' EXIT
"$py312" -m pip install --quiet --no-index --no-deps --target "$check" "$KIT"/wheels/*.whl 2>&1 \
    | grep -v "^WARNING: Location" || true
# What imports without torch or a GPU (Unsloth, TRL, datasets and bitsandbytes import torch or numpy at
# once), beside typing_extensions, which the device has (torch needs it).
standins=$(mktemp -d)
"$py312" -m pip install --quiet --target "$standins" typing_extensions 2>&1 | grep -v "^WARNING" || true
PYTHONPATH="$check:$standins" "$py312" -W ignore -c "
import importlib
names = ['pydantic', 'pydantic_core', 'tomli_w', 'dill', 'multiprocess', 'xxhash', 'einops', 'msgspec', 'PIL.Image',
         'requests', 'annotated_types', 'typing_inspection']
for name in names:
    importlib.import_module(name)
print('imports under Python 3.12:', ', '.join(names))
"
rm -rf "$standins"
for package in unsloth unsloth_zoo trl bitsandbytes; do
    [ -f "$check/$package/__init__.py" ] || { echo "error: $package did not install" >&2; exit 1; }
done

tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
kit=$(du -sb "$KIT" | cut -f1)
total=$(( (tree + kit) / 1048576 ))
echo "kit $(( kit / 1048576 )) MiB + tracked tree $(( tree / 1048576 )) MiB = ${total} MiB (limit ${LIMIT_MIB} MiB)"
[ "$total" -lt "$LIMIT_MIB" ] || { echo "error: over ${LIMIT_MIB} MiB" >&2; exit 1; }
