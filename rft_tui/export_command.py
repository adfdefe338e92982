"""``rft export RUN``: an adapter, merged model or GGUF, checked by reading it back.

The export runs in an engine process (``engine.export``, through
``rft_tui.export_client``); this side asks before replacing an export and
prints the checks as they pass.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console

from engine.contract.runs import find_run, is_whole_model
from engine.contract.user_traceback import user_report

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_parser(sub: Any) -> None:
    """The ``export`` subcommand's arguments."""
    export = sub.add_parser("export", help="export a run as adapter, merged model or GGUF, checked by reading it back")
    export.add_argument("run", help="run name or path")
    export.add_argument("--format", choices=["adapter", "merged", "gguf"], default=None,
                        help="default: adapter, or merged for a run that fine-tuned every weight (it has no adapter)")
    export.add_argument("--checkpoint", default="final", metavar="N|final",
                        help="export this checkpoint (its step number) instead of the final adapter")
    export.add_argument("--quant", default="q8_0", choices=["f16", "q8_0", "q4_k_m", "q5_k_m", "q6_k"],
                        help="GGUF quantisation (default q8_0; smaller ones need llama.cpp's llama-quantize)")
    export.add_argument("--force", action="store_true", help="replace an existing export without asking")
    export.add_argument("--runs-dir", help="folder holding run directories")


def cmd_export(args: argparse.Namespace, console: Console) -> int:
    from engine.export import ExportError, export_dir, source_dir
    from rft_tui.export_client import run_export

    try:
        run = find_run(args.run, args.runs_dir)
    except FileNotFoundError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        return EXIT_USAGE
    source = args.checkpoint if args.checkpoint == "final" or args.checkpoint.startswith("checkpoint-") \
        else f"checkpoint-{args.checkpoint}"
    try:
        folder = source_dir(run, source)  # nothing to export is refused here, before an export process starts
    except ExportError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        return EXIT_USAGE
    args.format = args.format or ("merged" if is_whole_model(folder) else "adapter")
    target = export_dir(run, args.format, source, args.quant)
    replace = args.force
    if target.exists() and not replace:
        if not sys.stdin.isatty():
            console.print(f"[red]{target} already exists.[/red] Pass --force to replace it.", highlight=False)
            return EXIT_USAGE
        answer = console.input(f"{target} already exists. Replace it? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            console.print("left as it was")
            return EXIT_USAGE
        replace = True

    def show(event: dict) -> None:
        if event["event"] == "progress":
            status.update(event["message"][:150])
        elif event["event"] == "check":
            mark = "[green]✓[/green]" if event["ok"] else "[red]✗[/red]"
            console.print(f"{mark} {event['name']}: {event['detail']}", highlight=False)

    with console.status(f"exporting {run.name} as {args.format}…") as status:
        result = run_export(run, args.format, source, args.quant, replace, on_event=show)
    if result["event"] == "error":
        console.print("[red]export failed:[/red] ", end="", highlight=False)
        console.print(user_report(result["message"], result.get("traceback"), result.get("log")), highlight=False,
                      markup=False)
        return EXIT_FAILED
    size = result["size_bytes"] / 1e6
    console.print(f"exported to {result['path']} ({size:.1f} MB in {result['seconds']:.1f} s)", highlight=False)
    return EXIT_OK
