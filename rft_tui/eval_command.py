"""``rft eval RUN``: the base model against the tuned one on prompts the run never trained on.

The comparison runs in an engine process (``engine.generation.compare``); this
side shows its progress bar and prints the table: per reward function, each
model's mean and the share of prompts where the tuned answer was better, the
same or worse than the base's.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rft_tui.comparison_table import comparison_table

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_parser(sub: Any) -> None:
    """The ``eval`` subcommand's arguments."""
    evaluate = sub.add_parser("eval", help="score the base model and the tuned one side by side on held-out prompts")
    evaluate.add_argument("run", help="run name or path")
    evaluate.add_argument("--checkpoint", default="final", metavar="N|final|best",
                          help="the adapter to compare: final (default), best (the best evaluated step) or a step")
    evaluate.add_argument("--dataset", default=None, metavar="SOURCE",
                          help="compare on this dataset instead of the run's held-out rows")
    evaluate.add_argument("-n", type=int, default=64, help="at most this many prompts (default 64)")
    evaluate.add_argument("--runs-dir", help="folder holding run directories")


def source_name(checkpoint: str) -> str:
    """``--checkpoint`` as the engine names adapters: final, best or checkpoint-N."""
    return checkpoint if checkpoint in ("final", "best") or checkpoint.startswith("checkpoint-") \
        else f"checkpoint-{checkpoint}"


def run_compare(run_path: str, source: str, dataset: str | None, n: int, on_event=None) -> dict[str, Any]:
    from rft_tui.engine_process import run_json_lines

    command = [sys.executable, "-m", "engine.generation.compare", run_path, "--source", source, "-n", str(n)] + \
        (["--dataset", dataset] if dataset else [])
    return run_json_lines(command, "eval", on_event)


def cmd_eval(args: argparse.Namespace, console: Console) -> int:
    from engine.contract.runs import find_run

    try:
        run = find_run(args.run, args.runs_dir)
    except FileNotFoundError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        return EXIT_USAGE
    source = source_name(args.checkpoint)
    if source != "best":
        from engine.export import ExportError, source_dir

        try:
            source_dir(run, source)  # no adapter to compare is refused here, before a model loads
        except ExportError as error:
            console.print(f"[red]{error}[/red]", highlight=False)
            return EXIT_USAGE
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console, transient=True)
    task = progress.add_task(f"comparing {run.name}: loading", total=None)

    def show(event: dict[str, Any]) -> None:
        if event.get("event") == "progress":
            progress.update(task, description=event["message"][:80], completed=event.get("done") or 0,
                            total=event.get("total") or None)

    with progress:
        result = run_compare(str(run.path), source, args.dataset, args.n, on_event=show)
    if result["event"] == "error":
        console.print(f"[red]rft eval: {result['message']}[/red]", highlight=False)
        if result.get("log"):
            console.print(f"the whole error is in {result['log']}", highlight=False)
        return EXIT_FAILED
    console.print(f"{run.name} ({result['source']}) against {result['base_model']}, greedy, "
                  f"{result['max_new_tokens']} tokens at most, {result['seconds']:.0f} s", highlight=False)
    console.print(comparison_table(result["rewards"], f"{result['prompts']} prompts: {result['data']}"))
    console.print(f"written to {result['path']}, with every answer of both models and its scores", highlight=False)
    return EXIT_OK
