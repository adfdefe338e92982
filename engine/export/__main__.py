"""``python -m engine.export RUN --format adapter|merged|gguf``: one export, reported as JSON lines.

Started by ``rft export`` and by the UI, so torch stays out of their process.
Each stdout line is one JSON object: ``{"event": "progress", "message"}``,
``{"event": "check", "name", "ok", "detail"}``, ``{"event": "upload", "sent",
"total"}`` (bytes, with ``--push-to-hub``), then ``{"event": "done", …}`` (an
``ExportResult``, and ``pushed``: a ``PushResult``) or ``{"event": "error",
"message", "exists"}``. ``--push-existing`` pushes the export made before
instead of making it again. Exit codes: 0 exported, 1 failed, 3 the target
exists and replacing it was not asked.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

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
    parser.add_argument("--push-to-hub", metavar="ORG/NAME", help="then upload the export to this Hub repo")
    parser.add_argument("--private", action="store_true", help="a new Hub repo is private")
    parser.add_argument("--push-existing", action="store_true", help="push the export made before, unchanged")
    args = parser.parse_args(argv)
    no_telemetry()
    from engine.contract.runs import find_run
    from engine.export.hub_push import PushError

    try:
        run = find_run(args.run, args.runs_dir)
        result = _existing(run, args) if args.push_existing else _make(run, args)
        done = asdict(result) if result is not None else {}
        if args.push_to_hub:
            from engine.export.hub_push import push_folder

            pushed = push_folder(Path(done["path"]), args.push_to_hub, args.private,
                                 log=lambda message: _emit("progress", message=message),
                                 on_bytes=lambda sent, total: _emit("upload", sent=sent, total=total))
            done["pushed"] = asdict(pushed)
    except PushError as error:
        _emit("error", message=f"the export is kept, but it was not pushed: {error}", exists=False)
        return EXIT_FAILED
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
    _emit("done", **done)
    return EXIT_OK


def _make(run, args) -> object:
    from engine.export.make import Exporter

    return Exporter(run, args.format, args.source, args.quant, args.replace,
                    log=lambda message: _emit("progress", message=message),
                    on_check=lambda check: _emit("check", **check.as_dict())).make()


def _existing(run, args) -> object:
    """The export made before, as an ExportResult of its folder (its checks ran when it was made)."""
    from engine.export import export_dir
    from engine.export.make import ExportResult

    folder = export_dir(run, args.format, args.source, args.quant)
    if not folder.is_dir():
        raise ExportError(f"there is no {args.format} export of {args.source} in {run.path / 'exports'} to push; "
                          "export it first")
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return ExportResult(path=str(folder), format=args.format, source=args.source,
                        quant=args.quant if args.format == "gguf" else None, size_bytes=size, seconds=0.0)


if __name__ == "__main__":
    sys.exit(main())
