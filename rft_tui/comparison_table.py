"""Base against tuned as a table: one row per reward function, each side's mean and the share of prompts
where the tuned answer scored better, the same or worse. ``rft eval`` prints it; the playground shows it
for the prompts asked there."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def comparison_table(rows: list[dict[str, Any]], title: str) -> Table:
    """``rows``: ``engine.contract.comparison.compare_scores`` results, one per reward function."""
    table = Table("reward", "base", "tuned", "better", "same", "worse", box=None, title=title, title_justify="left")
    for row in rows:
        gain = row["tuned"] - row["base"]
        style = "green" if gain > 0 else "red" if gain < 0 else ""
        table.add_row(row["name"], f"{row['base']:.3f}", f"[{style}]{row['tuned']:.3f}[/{style}]" if style
                      else f"{row['tuned']:.3f}", f"{row['better']:.0%}", f"{row['equal']:.0%}", f"{row['worse']:.0%}")
    return table
