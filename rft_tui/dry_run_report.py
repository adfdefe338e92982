"""Print a reward dry run's result: the answers × functions table and the per-function summary."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

BARS = "▁▂▃▄▅▆▇█"


def sparkline(counts: list[int]) -> str:
    top = max(counts) if counts else 0
    return "".join(BARS[min(7, c * 8 // (top + 1))] if c else " " for c in counts) if top else ""


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_report(result: dict[str, Any], console: Console, rows_shown: int = 24) -> None:
    names = list(result["summary"])
    table = Table("prompt", "answer", *names, "total", title=f"{result['answers']} answers to {result['prompts']} "
                  f"prompts ({result['source']})", box=None)
    for row in result["rows"][:rows_shown]:
        table.add_row(row["prompt"][:32], " ".join(row["completion"].split())[:56],
                      *[_fmt(row["scores"][n]) for n in names], _fmt(row["total"]))
    console.print(table)
    if len(result["rows"]) > rows_shown:
        console.print(f"… and {len(result['rows']) - rows_shown} more answers")
    summary = Table("function", "mean", "std", "min", "max", "histogram", "ms/call", title="per function", box=None)
    for name, s in result["summary"].items():
        summary.add_row(name, _fmt(s["mean"]), _fmt(s["std"]), _fmt(s["min"]), _fmt(s["max"]),
                        sparkline(s["histogram"]), f"{s['ms_per_call']:.1f}")
    console.print(summary)
    for name, s in result["summary"].items():
        if s["constant"]:
            value = "no score at all" if s["mean"] is None else f"{s['mean']:.3f}"
            console.print(f"[yellow]warning:[/yellow] {name} gives every answer the same score ({value}): it cannot "
                          "tell better answers from worse, so it teaches nothing", highlight=False)
    share = result.get("zero_spread_share")
    if share is not None:
        style = "red" if share > 0.5 else ("yellow" if share > 0.2 else "green")
        console.print(f"zero-spread groups: [{style}]{share:.0%}[/{style}] of prompts got answers that all scored "
                      "the same (GRPO learns nothing from those)", highlight=False)
