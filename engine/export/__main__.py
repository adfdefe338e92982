"""``python -m engine.export RUN --format adapter|merged|gguf``: one export, reported as JSON lines.

Started by ``rft export`` and by the UI, so torch stays out of their process.
Each stdout line is one JSON object: ``{"event": "progress", "message"}``,
``{"event": "check", "name", "ok", "detail"}``, then ``{"event": "done", …}``
(an ``ExportResult``) or ``{"event": "error", "message", "exists"}``. Exit
codes: 0 exported, 1 failed, 3 the target exists and replacing it was not asked.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from engine.contract.privacy import no_telemetry
from engine.export import FINAL, FORMATS, GGUF_QUANTS, ExportError
from engine.export.staging import ExportExists

EXIT_OK, EXIT_FAILED, EXIT_EXISTS = 0, 1, 3


def _emit(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.export")
    parser.add_argument("run", help="run directory or run name")
    parser.add_argument("--format", choices=FORMATS, default="adapter")
    parser.add_argument("--source", default=FINAL, help="'final' (the run's adapter) or checkpoint-N")
    parser.add_argument("--quant", choices=GGUF_QUANTS, default="q8_0")
    parser.add_argument("--replace", action="store_true", help="replace an existing export")
    parser.add_argument("--runs-dir", default=None)
    args = parser.parse_args(argv)
    no_telemetry()
    from engine.contract.runs import find_run

    try:
        run = find_run(args.run, args.runs_dir)
        from engine.export.make import Exporter

        result = Exporter(run, args.format, args.source, args.quant, args.replace,
                          log=lambda message: _emit("progress", message=message),
                          on_check=lambda check: _emit("check", **check.as_dict())).make()
    except ExportExists as error:
        _emit("error", message=str(error), exists=True)
        return EXIT_EXISTS
    except (ExportError, FileNotFoundError, OSError, ValueError) as error:
        from engine.contract.errors import describe_error

        if isinstance(error, OSError) and error.errno == 28:
            message = "The disk is full, so the export was not kept; free some space and export again."
        else:
            message = describe_error(error)  # an ExportError's own message, or the error's type and text
        _emit("error", message=message, exists=False)
        return EXIT_FAILED
    _emit("done", **asdict(result))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
