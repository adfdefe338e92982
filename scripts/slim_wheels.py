"""Slim the device kit's wheels: drop what a wheel carries that rft never loads on the GPU machine.

    python scripts/slim_wheels.py WHEELS_DIR [--cuda 130]

- bitsandbytes ships one CUDA library per CUDA version (43 MB); the device's torch is built for one of them,
  so only ``libbitsandbytes_cuda<N>.so`` (and the CPU one, which it loads as a fallback) is kept;
- unsloth's wheel carries ``studio/``, a web app (80 MB unpacked) that ``import unsloth`` never touches.

A wheel is rewritten with those entries left out and its ``RECORD`` rewritten to match, so pip installs it as
any other. Prints each wheel's size before and after.
"""

from __future__ import annotations

import argparse
import re
import zipfile
from pathlib import Path


def _drop(name: str, cuda: str) -> bool:
    if name.startswith("studio/"):
        return True
    library = re.match(r"bitsandbytes/libbitsandbytes_(cuda\d+|cpu|rocm\d*|xpu\d*)[^/]*\.so$", name)
    return bool(library) and library.group(1) not in {f"cuda{cuda}", "cpu"}


def slim(wheel: Path, cuda: str) -> tuple[int, int]:
    """Rewrite ``wheel`` without the entries ``_drop`` names; returns (bytes before, bytes after)."""
    before = wheel.stat().st_size
    with zipfile.ZipFile(wheel) as source:
        names = source.namelist()
        dropped = {n for n in names if _drop(n, cuda)}
        if not dropped:
            return before, before
        tmp = wheel.with_suffix(".slim")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                if info.filename in dropped:
                    continue
                data = source.read(info)
                if info.filename.endswith(".dist-info/RECORD"):
                    lines = data.decode().splitlines()
                    data = ("\n".join(l for l in lines if l.split(",", 1)[0] not in dropped) + "\n").encode()
                target.writestr(info, data)
    tmp.replace(wheel)
    return before, wheel.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheels", type=Path)
    parser.add_argument("--cuda", default="130", help="the device torch's CUDA version without the dot (13.0: 130)")
    args = parser.parse_args()
    for wheel in sorted(args.wheels.glob("*.whl")):
        before, after = slim(wheel, args.cuda)
        if after != before:
            print(f"{wheel.name}: {before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
