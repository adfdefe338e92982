"""Start a reward dry run in its own engine process and collect its result (no torch here).

Reward code and model loading stay out of the UI's process: this only writes
the request, starts ``python -m engine.generation.dry_run``, relays its progress lines and
reads the result file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

from engine.contract.config import RunConfig


def run_dry_run(config: RunConfig, n: int, source: str, per_prompt: int, texts: list[str] | None = None,
                on_progress: Callable[[int, int], None] | None = None,
                on_line: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the dry run to the end; returns its result, or ``{"error": …, "traceback": …}`` (with ``"log"``, the
    file holding the full traceback, when the failure is a bug of rft's rather than of the input)."""
    with tempfile.TemporaryDirectory(prefix="rft-dry-run-") as folder:
        request, result = Path(folder) / "request.json", Path(folder) / "result.json"
        request.write_text(json.dumps({"config": config.model_dump(mode="json", exclude_none=True), "n": n,
                                       "source": source, "per_prompt": per_prompt, "texts": texts or []}))
        process = subprocess.Popen([sys.executable, "-m", "engine.generation.dry_run", str(request), str(result)],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   stdin=subprocess.DEVNULL)
        output = []  # what else it printed: the story of a crash that wrote no result
        for line in process.stdout:
            line = line.rstrip()
            if line.startswith("progress ") and on_progress:
                done, total = (int(x) for x in line.split()[1:3])
                on_progress(done, total)
            elif line.startswith("note:") and on_line:
                on_line(line)
            else:
                output = [*output[-200:], line]
        process.wait()
        if not result.is_file():
            from engine.contract.user_traceback import keep_full

            text = "\n".join(output)
            return {"error": f"the dry-run process exited with code {process.returncode} and wrote no result",
                    "traceback": text, "log": str(keep_full("dry-run", text))}
        return json.loads(result.read_text(encoding="utf-8"))
