"""``rft export RUN``: an adapter, merged model or GGUF, checked by reading it back, and pushed to the Hub.

The export runs in an engine process (``engine.export``, through
``rft_tui.export_client``); this side asks before replacing an export and
prints the checks as they pass.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console

from engine.contract.hub_repo import repo_id_problem
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
    export.add_argument("--push-to-hub", metavar="ORG/NAME", help="then upload the export to this Hugging Face "
                        "repo (made if new; pushing again updates it). The token: HF_TOKEN or `hf auth login`")
    export.add_argument("--private", action="store_true", help="with --push-to-hub: a new repo is private")


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
    if args.push_to_hub and (problem := repo_id_problem(args.push_to_hub)):
        console.print(f"[red]--push-to-hub {args.push_to_hub!r}:[/red] {problem}", highlight=False)
        return EXIT_USAGE
    args.format = args.format or ("merged" if is_whole_model(folder) else "adapter")
    target = export_dir(run, args.format, source, args.quant)
    replace = args.force
    push_existing = bool(args.push_to_hub) and target.exists() and not replace
    if push_existing:
        console.print(f"pushing the export made before, {target} (--force makes it again first)", highlight=False)
    elif target.exists() and not replace:
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
        elif event["event"] == "upload":
            status.update(f"uploading to {args.push_to_hub} {upload_bar(event['sent'], event['total'])}")
        elif event["event"] == "check":
            mark = "[green]✓[/green]" if event["ok"] else "[red]✗[/red]"
            console.print(f"{mark} {event['name']}: {event['detail']}", highlight=False)

    with console.status(f"exporting {run.name} as {args.format}…") as status:
        result = run_export(run, args.format, source, args.quant, replace, on_event=show,
                            push_to=args.push_to_hub, private=args.private, push_existing=push_existing)
    if result["event"] == "error":
        console.print("[red]export failed:[/red] ", end="", highlight=False)
        console.print(user_report(result["message"], result.get("traceback"), result.get("log")), highlight=False,
                      markup=False)
        return EXIT_FAILED
    size = result["size_bytes"] / 1e6
    if not push_existing:
        console.print(f"exported to {result['path']} ({size:.1f} MB in {result['seconds']:.1f} s)", highlight=False)
    if pushed := result.get("pushed"):
        console.print(f"pushed {pushed['files']} files ({pushed['size_bytes'] / 1e6:.1f} MB) to {pushed['url']}"
                      f"{' (private)' if pushed['private'] else ''}", highlight=False)
    return EXIT_OK


def upload_bar(sent: int, total: int, width: int = 24) -> str:
    """'━━━━━━━━━━━━──────────── 50% (1.5/3.0 MB)': an upload's progress as one line."""
    share = sent / total if total else 1.0
    filled = round(share * width)
    return f"{'━' * filled}{'─' * (width - filled)} {share:.0%} ({sent / 1e6:.1f}/{total / 1e6:.1f} MB)"
